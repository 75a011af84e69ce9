"""One episode with tau2's semantics: agent and user simulator alternate, the agent's tool calls
run in a fresh per-episode environment, and the episode is scored at the end.

* the agent opens with the fixed greeting; the user answers; then agent and user alternate;
* an agent turn with tool calls is answered by the environment and the agent goes again;
* a user message with ``###STOP###``, ``###TRANSFER###`` or ``###OUT-OF-SCOPE###`` ends the
  episode (user stop); an agent message with ``###STOP###`` ends it too (agent stop);
* more than ``max_steps`` messages, or more than ``max_errors`` tool errors, end it with
  tau2's termination reasons; an exception from a model ends it as agent or user error.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Literal, Protocol

from taskforge.contracts import Message, RewardInfo, Task, TerminationReason, Trajectory
from taskforge.env.db import Database
from taskforge.env.environment import Environment
from taskforge.env.evaluator import Evaluator, NLJudge
from taskforge.env.toolkit import Toolkit
from taskforge.llm.client import episode_metadata
from taskforge.rollout.prompts import GREETING, STOP, has_stop_token
from taskforge.rollout.views import agent_view, user_view


class ChatModel(Protocol):
    """What the episode needs from an LLM client (see :class:`taskforge.llm.LLMClient`)."""

    async def complete(
        self,
        messages: list[dict[str, Any]],
        tools: list[dict[str, Any]] | None = None,
        seed: int | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> Any:
        """One completion; the result has ``message``, ``cost`` and ``extras``."""
        ...


@dataclass
class EpisodeSpec:
    """Everything one episode needs."""

    episode_id: str
    task: Task
    trial: int
    seed: int
    agent_system: str
    user_system: str
    tools: list[dict[str, Any]]
    max_steps: int = 200
    max_errors: int = 10


@dataclass
class _State:
    messages: list[Message] = field(default_factory=list)
    errors: int = 0
    agent_cost: float = 0.0
    user_cost: float = 0.0
    error_modes: list[str] = field(default_factory=list)
    termination: TerminationReason | None = None


class EpisodeRunner:
    """Plays episodes of one domain on one base DB with an agent and a user model.

    With an ``nl_judge`` the episodes' NL assertions are judged (their verdicts land in the
    reward info); the evaluation then runs in a worker thread, so that the judge's calls do not
    hold up the other episodes of the event loop. Without one they are skipped.
    """

    def __init__(
        self,
        toolkit_cls: type[Toolkit],
        db: Database,
        agent: ChatModel,
        user: ChatModel,
        nl_judge: NLJudge | None = None,
    ) -> None:
        self.toolkit_cls = toolkit_cls
        self.db = db
        self.agent = agent
        self.user = user
        self.evaluator = Evaluator(toolkit_cls, db, nl_judge)

    async def run(self, spec: EpisodeSpec) -> Trajectory:
        """Play and score one episode."""
        start, clock = datetime.now(timezone.utc), time.perf_counter()
        env = Environment(self.toolkit_cls, self.db)
        state = _State(messages=[Message(role="assistant", content=GREETING, turn_idx=0)])
        meta = episode_metadata(spec.episode_id)
        while state.termination is None:
            await self._user_turn(spec, state, meta)
            while state.termination is None and await self._agent_turn(spec, state, env, meta):
                pass
        assert state.termination is not None
        seconds, evaluate = time.perf_counter() - clock, self.evaluator.evaluate
        if self.evaluator.nl_judge is None:
            info = evaluate(spec.task, state.messages, state.termination)
        else:
            info = await asyncio.to_thread(evaluate, spec.task, state.messages, state.termination)
        return self._finish(spec, state, info, start, seconds)

    async def _user_turn(self, spec: EpisodeSpec, state: _State, meta: dict[str, Any]) -> None:
        try:
            done = await self.user.complete(
                user_view(spec.user_system, state.messages), seed=spec.seed, metadata=meta
            )
        except Exception as exc:  # the user simulator failed: tau2's user_error
            return self._end(state, TerminationReason.USER_ERROR, "user", f"user model: {exc}")
        state.user_cost += done.cost or 0.0
        text = done.message.content or ""
        self._append(
            state, Message(role="user", content=text, usage=done.message.usage, cost=done.cost)
        )
        if has_stop_token(text):
            state.termination = TerminationReason.USER_STOP
        self._check_limits(spec, state)

    async def _agent_turn(
        self, spec: EpisodeSpec, state: _State, env: Environment, meta: dict[str, Any]
    ) -> bool:
        """One agent message; True when it made tool calls (so the agent goes again)."""
        try:
            done = await self.agent.complete(
                agent_view(spec.agent_system, state.messages),
                tools=spec.tools,
                seed=spec.seed,
                metadata=meta,
            )
        except Exception as exc:  # the agent model failed: tau2's agent_error
            self._end(state, TerminationReason.AGENT_ERROR, "assistant", f"agent model: {exc}")
            return False
        state.agent_cost += done.cost or 0.0
        state.error_modes += list((done.extras or {}).get("taskforge_error_modes") or [])
        message = done.message.model_copy(update={"role": "assistant", "cost": done.cost})
        self._append(state, message)
        for call in message.tool_calls or []:
            result = env.step(call)
            state.errors += bool(result.error)
            self._append(state, result)
        if not message.tool_calls and STOP in (message.content or ""):
            state.termination = TerminationReason.AGENT_STOP
        self._check_limits(spec, state)
        return bool(message.tool_calls) and state.termination is None

    @staticmethod
    def _append(state: _State, message: Message) -> None:
        state.messages.append(message.model_copy(update={"turn_idx": len(state.messages)}))

    @staticmethod
    def _check_limits(spec: EpisodeSpec, state: _State) -> None:
        if state.termination is not None:
            return
        if state.errors > spec.max_errors:
            state.termination = TerminationReason.TOO_MANY_ERRORS
        elif len(state.messages) >= spec.max_steps:
            state.termination = TerminationReason.MAX_STEPS

    @staticmethod
    def _end(
        state: _State, reason: TerminationReason, role: Literal["user", "assistant"], note: str
    ) -> None:
        """End on a model failure, keeping the error on an empty message of that side."""
        state.termination = reason
        state.messages.append(
            Message(role=role, content=None, errors=note[:2000], turn_idx=len(state.messages))
        )

    def _finish(
        self, spec: EpisodeSpec, state: _State, info: RewardInfo, start: datetime, seconds: float
    ) -> Trajectory:
        assert state.termination is not None
        return Trajectory(
            id=spec.episode_id,
            task_id=spec.task.id,
            trial=spec.trial,
            seed=spec.seed,
            start_time=start.isoformat(),
            end_time=datetime.now(timezone.utc).isoformat(),
            duration=round(seconds, 4),
            termination_reason=state.termination,
            agent_cost=state.agent_cost,
            user_cost=state.user_cost,
            reward_info=info,
            messages=state.messages,
            error_modes=state.error_modes,
        )
