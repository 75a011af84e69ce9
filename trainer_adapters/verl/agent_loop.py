"""The taskforge agent loop: verl's ToolAgentLoop with a simulated user between agent turns.

verl 0.9 has no simulated-user interactions any more. This loop keeps ToolAgentLoop's token
bookkeeping (Continuous Token merges, response masks, tool parsing, the verl tools) and adds
tau2's dialogue around it:

* the prompt (from ``taskforge export verl``) holds the system prompt with the policy, the
  fixed greeting and the user's first message;
* when the agent answers with text instead of tool calls, the user simulator (an LLM endpoint
  or the offline scripted user, see :mod:`trainer_adapters.verl.user`) replies; its message is
  appended to the context with mask 0, and the agent generates again;
* the tools run on the episode's own environment (a fresh copy-on-write state of the row's DB
  with the task's initial state), through :class:`~trainer_adapters.verl.tools.EnvTool`;
* the episode ends like a tau2 simulation (user stop/transfer, agent ``###STOP###``, too many
  tool errors, max steps), or when verl's turn or token budgets run out;
* at the end the episode is scored with the evaluator; the trajectory goes to ``extra_fields``
  (for ``compute_score``, with a log of the tool calls) and to the loop's own JSONL.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any
from uuid import uuid4

from verl.experimental.agent_loop.agent_loop import AgentLoopOutput
from verl.experimental.agent_loop.tool_agent_loop import AgentData, AgentState, ToolAgentLoop
from verl.experimental.agent_loop.tool_parser import FunctionCall
from verl.tools.schemas import ToolResponse

from taskforge.contracts import TerminationReason, Trajectory, VerlEpisode
from trainer_adapters.verl.episode import Episode, EpisodeLimits
from trainer_adapters.verl.episode_log import write_episode
from trainer_adapters.verl.inputs import EPISODE_FIELD, EpisodeInputs, episode_inputs
from trainer_adapters.verl.tools import EPISODE_ATTR, ERROR_KEY, RAN_KEY
from trainer_adapters.verl.user import UserSimulator

logger = logging.getLogger(__name__)
TOOL_LOG_FIELD, TERMINATION_FIELD = "taskforge_tool_calls", "taskforge_termination"


def _int(value: Any) -> int | None:
    """A scalar from verl's batch (int, numpy or tensor scalar), or None."""
    if value is None:
        return None
    return int(value.item() if hasattr(value, "item") else value)


class TaskforgeAgentLoop(ToolAgentLoop):
    """ToolAgentLoop plus a user simulator, tau2 termination and episode records.

    It is registered by the agent-loop YAML (``name: taskforge_agent``), not by verl's
    ``@register`` decorator: the decorator would replace the YAML's entry, and its arguments,
    when the module is first imported.

    Args (from the agent-loop YAML, besides verl's own):
        user_config: taskforge LLM config whose ``user`` role plays the user (None: the
            offline scripted user).
        user_concurrency: Most user-simulator calls in flight per worker.
        episodes_dir: Where the loop writes its JSONL (default: ``<trainer.rollout_data_dir>/
            episodes``; none when neither is set).
        reward_spec: Reward spec (preset or file) the loop scores its records with.
        round, mode: taskforge loop round and training mode, copied into the records.
        max_steps, max_errors: tau2's limits (messages in the record, tool errors).
    """

    def __init__(
        self,
        *args: Any,
        user_config: str | None = None,
        user_concurrency: int = 64,
        episodes_dir: str | None = None,
        reward_spec: str | None = None,
        round: int | None = None,
        mode: str | None = None,
        max_steps: int = 200,
        max_errors: int = 10,
        name: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.user = UserSimulator.shared(user_config, user_concurrency)
        rollout_dir = self.config.trainer.get("rollout_data_dir")
        root = episodes_dir or (str(Path(rollout_dir) / "episodes") if rollout_dir else None)
        self.episodes_dir = Path(root) if root else None
        self.reward_spec = reward_spec
        self.round, self.mode = round, mode
        self.limits = EpisodeLimits(max_steps=max_steps, max_errors=max_errors)
        self._episode: Episode | None = None
        self._inputs: EpisodeInputs | None = None
        self._call_ids: dict[int, str] = {}

    @property
    def episode(self) -> Episode:
        """The episode this loop instance plays (verl makes one instance per sample)."""
        assert self._episode is not None, "run() has not started an episode"
        return self._episode

    async def run(self, sampling_params: dict[str, Any], **kwargs: Any) -> AgentLoopOutput:
        """Play one episode; the scored trajectory goes to extra_fields and the JSONL."""
        self._inputs = inputs = episode_inputs(kwargs.get("extra_info"))
        opening = [dict(m) for m in kwargs["raw_prompt"]]
        self._episode = Episode(
            f"verl-{uuid4().hex}",
            inputs.task,
            inputs.db,
            inputs.domain.toolkit_cls,
            opening,
            self.limits,
        )
        UserSimulator.begin(self.episode.id, inputs.task, inputs.db, inputs.user_seed)
        try:
            output = await super().run(sampling_params, **kwargs)
        finally:
            UserSimulator.end(self.episode.id)
        trajectory = self.episode.trajectory()
        output.extra_fields[EPISODE_FIELD] = trajectory.model_dump_json(exclude_none=True)
        output.extra_fields[TOOL_LOG_FIELD] = json.dumps(self.episode.tool_log)
        output.extra_fields[TERMINATION_FIELD] = trajectory.termination_reason.value
        if self.episodes_dir is not None:
            write_episode(self.episodes_dir, self._record(trajectory, output, kwargs))
        return output

    # -- the states ----------------------------------------------------------------------------
    async def _handle_pending_state(
        self, agent_data: AgentData, sampling_params: dict[str, Any]
    ) -> AgentState:
        setattr(agent_data, EPISODE_ATTR, self.episode)
        return await super()._handle_pending_state(agent_data, sampling_params)

    async def _handle_generating_state(
        self,
        agent_data: AgentData,
        sampling_params: dict[str, Any],
        ignore_termination: bool = False,
    ) -> AgentState:
        parsed_before = len(agent_data.messages)
        state = await super()._handle_generating_state(
            agent_data, sampling_params, ignore_termination
        )
        calls = agent_data.tool_calls[: self.max_parallel_calls]
        if len(agent_data.messages) == parsed_before:  # a verl budget ended it before parsing
            calls = []
        self._record_agent_turn(agent_data, calls)
        if len(agent_data.messages) == parsed_before:
            self.episode.end(self._budget_reason(agent_data))
        if self.episode.done:
            return AgentState.TERMINATED
        if state == AgentState.PROCESSING_TOOLS:
            return state
        return await self._user_turn(agent_data)

    def _record_agent_turn(self, agent_data: AgentData, calls: list[FunctionCall]) -> None:
        tokenizer: Any = self.tokenizer
        text = tokenizer.decode(agent_data.response_ids, skip_special_tokens=True)
        recorded = self.episode.add_agent(
            text,
            [(c.name, c.arguments, c.tool_call_id) for c in calls],
            {"completion_tokens": len(agent_data.response_ids)},
        )
        self._call_ids = {id(c): r.id for c, r in zip(calls, recorded, strict=True)}

    def _budget_reason(self, agent_data: AgentData) -> TerminationReason:
        if len(agent_data.response_mask) >= self.response_length:
            return TerminationReason.CONTEXT_WINDOW_EXCEEDED
        return TerminationReason.MAX_STEPS

    async def _call_tool(
        self, tool_call: FunctionCall, tools_kwargs: dict[str, Any], agent_data: AgentData
    ) -> tuple[ToolResponse, float, dict[str, Any]]:
        response, reward, metrics = await super()._call_tool(tool_call, tools_kwargs, agent_data)
        ran = bool(metrics and metrics.get(RAN_KEY))  # else verl answered (unknown tool, bad JSON)
        error = bool(metrics.get(ERROR_KEY)) if ran else True
        call_id = self._call_ids.get(id(tool_call))
        if call_id is not None:
            self.episode.answer(call_id, response.text or "", error)
        return response, reward, metrics

    async def _handle_processing_tools_state(self, agent_data: AgentData) -> AgentState:
        state = await super()._handle_processing_tools_state(agent_data)
        self.episode.record_answers()
        if state == AgentState.TERMINATED:
            self.episode.end(TerminationReason.CONTEXT_WINDOW_EXCEEDED)
        return AgentState.TERMINATED if self.episode.done else state

    async def _user_turn(self, agent_data: AgentData) -> AgentState:
        """The user simulator answers; its message joins the context (mask 0)."""
        episode, inputs = self.episode, self._inputs
        assert inputs is not None
        try:
            turn = await self.user.reply(
                episode.id, inputs.task, episode.messages, inputs.user_seed
            )
        except Exception as exc:  # the simulator failed: tau2's user error
            episode.user_error(f"user model: {exc}")
            return AgentState.TERMINATED
        episode.add_user(turn.text, turn.cost, turn.usage)
        if episode.done:
            return AgentState.TERMINATED
        if self.max_user_turns and agent_data.user_turns >= self.max_user_turns:
            episode.end(TerminationReason.MAX_STEPS)
            return AgentState.TERMINATED
        return await self._append_user_message(agent_data, turn.text)

    async def _append_user_message(self, agent_data: AgentData, text: str) -> AgentState:
        previous = list(agent_data.messages)
        agent_data.messages.append({"role": "user", "content": text})
        merged, mask, logprobs = await self.ct_merge_context_msg(
            previous,
            agent_data.messages,
            agent_data.prompt_ids,
            agent_data.response_mask,
            agent_data.response_logprobs or None,
            tools=getattr(agent_data, "_active_tool_schemas", self.tool_schemas),
        )
        if len(mask) >= self.response_length:
            self.episode.end(TerminationReason.CONTEXT_WINDOW_EXCEEDED)
            return AgentState.TERMINATED
        agent_data.prompt_ids = merged.token_ids
        agent_data.response_mask = mask
        if agent_data.response_logprobs:
            agent_data.response_logprobs = logprobs or []
        agent_data.user_turns += 1
        return AgentState.GENERATING

    # -- the record ----------------------------------------------------------------------------
    def _record(
        self, trajectory: Trajectory, output: AgentLoopOutput, kwargs: dict[str, Any]
    ) -> VerlEpisode:
        inputs = self._inputs
        assert inputs is not None
        trainer = self.config.trainer
        spec_name, spec_hash, reward = self._spec_reward(trajectory, inputs)
        session = kwargs.get("session_id")
        return VerlEpisode(
            project=trainer.get("project_name"),
            experiment=trainer.get("experiment_name"),
            round=self.round,
            mode=self.mode,
            split="val" if inputs.split == "val" else "train",
            step=_int(kwargs.get("global_steps")),
            weights_step_min=_int(output.extra_fields.get("min_global_steps")),
            weights_step_max=_int(output.extra_fields.get("max_global_steps")),
            uid=str(kwargs["uid"]) if kwargs.get("uid") is not None else None,
            session=_int(session),
            model=self.config.actor_rollout_ref.model.get("path"),
            user_model=self.user.model,
            data_source=str(kwargs.get("data_source") or "") or None,
            reward_spec=spec_name,
            reward_spec_hash=spec_hash,
            reward=reward,
            task=inputs.task,
            trajectory=trajectory,
        )

    def _spec_reward(
        self, trajectory: Trajectory, inputs: EpisodeInputs
    ) -> tuple[str | None, str | None, dict[str, float] | None]:
        if not self.reward_spec:
            return None, None, None
        from trainer_adapters.verl.reward import load_reward_spec, score_episode

        try:
            spec = load_reward_spec(self.reward_spec)
            return spec.name, spec.spec_hash(), score_episode(trajectory, inputs, spec)
        except Exception as exc:  # the record is still written, without the spec reward
            logger.warning("episode %s: reward spec not applied: %s", trajectory.id, exc)
            return None, None, None
