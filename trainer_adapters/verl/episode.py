"""One verl episode's state, kept with tau2's semantics (no verl import here).

The agent loop feeds it what happens: the agent's messages (text and tool calls), the tools'
answers (run by the verl tools on this episode's environment), and the user's messages. It keeps
the dialogue in taskforge's record format (tau2 roles: the fixed greeting first, then the user),
applies tau2's limits and termination reasons, and at the end scores the dialogue with the
evaluator into a :class:`~taskforge.contracts.Trajectory`.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from taskforge.contracts import Message, Task, TerminationReason, ToolCall, Trajectory
from taskforge.env.db import Database
from taskforge.env.environment import Environment
from taskforge.env.evaluator import Evaluator
from taskforge.env.replay import initial_environment
from taskforge.env.toolkit import Toolkit
from taskforge.llm import parse_tool_call
from taskforge.rollout.prompts import STOP, has_stop_token

_THINK = re.compile(r"<think>(.*?)</think>", re.DOTALL)
_TOOL_CALL = re.compile(r"<tool_call>.*?</tool_call>", re.DOTALL)


def split_reasoning(text: str) -> tuple[str, str | None]:
    """(message text, reasoning): ``<think>`` blocks and tool-call markup leave the text."""
    thoughts = [t.strip() for t in _THINK.findall(text)]
    content = _TOOL_CALL.sub("", _THINK.sub("", text)).strip()
    return content, "\n".join(thoughts) if thoughts else None


@dataclass
class EpisodeLimits:
    """tau2's limits: most messages in the record, most tool errors."""

    max_steps: int = 200
    max_errors: int = 10


@dataclass
class _Pending:
    """Tool answers of the current agent turn, keyed by call id, until they are recorded."""

    calls: list[ToolCall] = field(default_factory=list)
    answers: dict[str, tuple[str, bool]] = field(default_factory=dict)


class Episode:
    """The record and environment of one episode.

    Args:
        episode_id: Unique id (the trajectory's id).
        task: The task played.
        db: The task's base DB (the environment starts from it plus the task's initial state).
        toolkit_cls: The domain's tools.
        opening: The prompt's dialogue after the system prompt (greeting, first user message),
            as OpenAI-style dicts.
        limits: tau2's limits.
    """

    def __init__(
        self,
        episode_id: str,
        task: Task,
        db: Database,
        toolkit_cls: type[Toolkit],
        opening: list[dict[str, Any]],
        limits: EpisodeLimits | None = None,
    ) -> None:
        self.id = episode_id
        self.task = task
        self.db = db
        self.toolkit_cls = toolkit_cls
        self.env: Environment = initial_environment(toolkit_cls, db, task)
        self.limits = limits or EpisodeLimits()
        self.messages: list[Message] = []
        for item in opening:
            if item.get("role") in ("assistant", "user"):
                self._append(Message(role=item["role"], content=item.get("content")))
        self.errors = 0
        self.user_cost = 0.0
        self.termination: TerminationReason | None = None
        self.tool_log: list[dict[str, Any]] = []
        self._pending = _Pending()
        self._start = datetime.now(timezone.utc)
        self._clock = time.perf_counter()

    @property
    def done(self) -> bool:
        """Whether the episode has ended."""
        return self.termination is not None

    def _append(self, message: Message) -> None:
        self.messages.append(message.model_copy(update={"turn_idx": len(self.messages)}))

    def end(self, reason: TerminationReason) -> None:
        """End the episode (the first reason given wins)."""
        if self.termination is None:
            self.termination = reason

    def _check_limits(self) -> None:
        if self.errors > self.limits.max_errors:
            self.end(TerminationReason.TOO_MANY_ERRORS)
        elif len(self.messages) >= self.limits.max_steps:
            self.end(TerminationReason.MAX_STEPS)

    def add_agent(
        self, text: str, calls: list[tuple[str, str, str | None]], usage: dict[str, Any]
    ) -> list[ToolCall]:
        """Record an agent message: its text and its tool calls (name, JSON arguments, id).

        A message without tool calls that contains ``###STOP###`` ends the episode (agent stop).
        Returns the recorded calls, whose ids the tool answers refer to.
        """
        content, reasoning = split_reasoning(text)
        turn = len(self.messages)
        recorded = [
            parse_tool_call(
                {"id": cid or f"call_{turn}_{i}", "function": {"name": n, "arguments": a}}
            )
            for i, (n, a, cid) in enumerate(calls)
        ]
        self._append(
            Message(
                role="assistant",
                content=content or None,
                tool_calls=recorded or None,
                reasoning=reasoning,
                usage=usage,
            )
        )
        self._pending = _Pending(calls=recorded)
        if not recorded and STOP in content:
            self.end(TerminationReason.AGENT_STOP)
        self._check_limits()
        return recorded

    def execute(self, name: str, arguments: dict[str, Any]) -> tuple[str, bool]:
        """Run one tool on the episode's environment: (output, is_error)."""
        return self.env.execute(name, arguments)

    def answer(self, call_id: str, text: str, error: bool) -> None:
        """The answer the agent was shown for one of the current calls."""
        self._pending.answers[call_id] = (text, error)

    def record_answers(self) -> None:
        """Record the current calls' answers as tool messages, in call order."""
        for call in self._pending.calls:
            text, error = self._pending.answers.get(call.id, ("Error: the call was not run", True))
            self.errors += error
            self.tool_log.append(
                {"name": call.name, "arguments": call.arguments, "error": error}
                | ({"raw_arguments": call.raw_arguments} if call.raw_arguments is not None else {})
            )
            self._append(
                Message(role="tool", id=call.id, content=text, requestor="assistant", error=error)
            )
        self._pending = _Pending()
        self._check_limits()

    def add_user(self, text: str, cost: float | None = None, usage: Any = None) -> None:
        """Record the user's message; a stop, transfer or out-of-scope token ends the episode."""
        self.user_cost += cost or 0.0
        self._append(Message(role="user", content=text, cost=cost, usage=usage))
        if has_stop_token(text):
            self.end(TerminationReason.USER_STOP)
        self._check_limits()

    def user_error(self, note: str) -> None:
        """The user simulator failed: tau2's user error, kept on an empty user message."""
        self.messages.append(
            Message(role="user", content=None, errors=note[:2000], turn_idx=len(self.messages))
        )
        self.end(TerminationReason.USER_ERROR)

    def trajectory(self, extra: dict[str, Any] | None = None) -> Trajectory:
        """The scored episode (an episode that never ended is cut at max steps)."""
        self.end(TerminationReason.MAX_STEPS)
        assert self.termination is not None
        info = Evaluator(self.toolkit_cls, self.db).evaluate(
            self.task, self.messages, self.termination
        )
        return Trajectory(
            id=self.id,
            task_id=self.task.id,
            start_time=self._start.isoformat(),
            end_time=datetime.now(timezone.utc).isoformat(),
            duration=round(time.perf_counter() - self._clock, 4),
            termination_reason=self.termination,
            user_cost=self.user_cost,
            reward_info=info,
            messages=self.messages,
            info=extra,
        )
