"""The reward of one completion: parse its tool call, run it, score the episode with the spec.

A completion is read as one JSON tool call ``{"name": ..., "arguments": {...}}``; text around
it (a code fence, a sentence) is tolerated and kept as the turn's text. A completion with no
such object is a plain assistant text turn. The episode scored is

    [agent greeting, user opening, assistant turn (tool call or text), tool result]

under the RewardSpec with :class:`taskforge.rewards.Scorer` (tau2 task success on the task's
initial DB, plus the spec's penalties), ended as a user stop (a normal end, so it is evaluated).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from taskforge.contracts import Message, RewardInfo, Task, TerminationReason, ToolCall
from taskforge.contracts.rewardspec import RewardBreakdown, RewardSpec
from taskforge.domains import get_domain
from taskforge.env.db import Database
from taskforge.rewards import Scorer, load_spec
from taskforge.rollout.prompts import GREETING

TERMINATION = TerminationReason.USER_STOP
"""How a single-turn episode ends (a normal end: it is evaluated)."""

CALL_ID = "call_0"


def parse_call(text: str) -> tuple[ToolCall | None, str]:
    """The first JSON object in ``text`` with a string ``name``, as a tool call.

    Args:
        text: The completion.

    Returns:
        ``(call, rest)``: the call (None when there is none) and the text around it, stripped.
        Arguments that are a JSON string are decoded; anything else that is not an object is
        kept as ``raw_arguments`` (the environment answers it with an error).
    """
    decoder = json.JSONDecoder()
    start = text.find("{")
    while start >= 0:
        try:
            value, end = decoder.raw_decode(text, start)
        except json.JSONDecodeError:
            start = text.find("{", start + 1)
            continue
        if isinstance(value, dict) and isinstance(value.get("name"), str):
            rest = (text[:start] + text[end:]).replace("```json", "").replace("```", "")
            return _to_call(value), rest.strip()
        start = text.find("{", end)
    return None, text.strip()


def _to_call(value: dict[str, Any]) -> ToolCall:
    arguments = value.get("arguments", {})
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments) if arguments.strip() else {}
        except json.JSONDecodeError:
            return ToolCall(id=CALL_ID, name=value["name"], arguments={}, raw_arguments=arguments)
    if not isinstance(arguments, dict):
        raw = json.dumps(arguments)
        return ToolCall(id=CALL_ID, name=value["name"], arguments={}, raw_arguments=raw)
    return ToolCall(id=CALL_ID, name=value["name"], arguments=arguments)


def completion_text(completion: Any) -> str:
    """The text of a TRL completion (a string, or a list of chat messages)."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, Sequence) and completion:
        last = completion[-1]
        if isinstance(last, Mapping):
            return str(last.get("content") or "")
    return ""


@dataclass
class Scored:
    """One scored completion.

    Attributes:
        task_id: The task.
        text: The completion as generated.
        score: The spec's total.
        success: Whether tau2 task success was 1.
        messages: The episode that was scored.
        reward_info: The evaluator's verdict (tau2 reward info).
        breakdown: The spec's per-component breakdown.
    """

    task_id: str
    text: str
    score: float
    success: bool
    messages: list[Message]
    reward_info: RewardInfo
    breakdown: RewardBreakdown


@dataclass
class TaskReward:
    """Scores completions of the tasks' single-turn prompts; a TRL reward function too.

    Args:
        tasks: The tasks, by id.
        openings: Each task's opening user message (the prompt's last message).
        db: The tasks' initial DB.
        domain: Domain name.
        spec: RewardSpec (or preset name / file; default ``raft``).
    """

    tasks: dict[str, Task]
    openings: dict[str, str]
    db: Database
    domain: str = "retail"
    spec: RewardSpec | str = "raft"
    records: list[tuple[int, Scored]] = field(default_factory=list)
    """Every completion scored through ``__call__``, with the trainer's step."""

    def __post_init__(self) -> None:
        self.__name__ = "taskforge_reward"  # TRL names a reward function by ``__name__``
        self.spec = load_spec(self.spec) if isinstance(self.spec, str) else self.spec
        self.toolkit_cls = get_domain(self.domain).toolkit_cls
        self.scorer = Scorer(self.toolkit_cls, self.db)

    def episode(self, task_id: str, text: str) -> list[Message]:
        """The single-turn episode of a completion (the tool call executed on a fresh DB)."""
        call, rest = parse_call(text)
        messages = [
            Message(role="assistant", content=GREETING, turn_idx=0),
            Message(role="user", content=self.openings[task_id], turn_idx=1),
        ]
        if call is None:
            messages.append(Message(role="assistant", content=rest, turn_idx=2))
            return messages
        turn = Message(role="assistant", content=rest or None, tool_calls=[call], turn_idx=2)
        env = get_domain(self.domain).environment(self.db)
        result = env.step(call).model_copy(update={"turn_idx": 3})
        return [*messages, turn, result]

    def score(self, task_id: str, text: str) -> Scored:
        """Score one completion of a task's prompt."""
        task = self.tasks[task_id]
        messages = self.episode(task_id, text)
        assert isinstance(self.spec, RewardSpec)
        breakdown = self.scorer.score(task, messages, TERMINATION, self.spec)
        info = self.scorer.evaluator.evaluate(task, messages, TERMINATION)
        return Scored(task_id, text, breakdown.score, info.reward >= 1.0, messages, info, breakdown)

    def __call__(
        self, prompts: list[Any], completions: list[Any], task_id: list[str], **kwargs: Any
    ) -> list[float]:
        """TRL's reward function: one score per completion (``task_id`` is a dataset column)."""
        state = kwargs.get("trainer_state")
        step = int(getattr(state, "global_step", 0) or 0)
        out = []
        for tid, completion in zip(task_id, completions, strict=True):
            scored = self.score(tid, completion_text(completion))
            self.records.append((step, scored))
            out.append(scored.score)
        return out
