"""What the reward components read: an episode, its tau2 evaluation, and the facts counted once.

The agent's tool calls are replayed in order on a fresh environment (the task's initial
state), so whether a call failed comes from the environment itself, not from flags a recorder
may or may not have kept. Definitions used by the components:

* a call is **malformed** when its arguments were not a JSON object (``raw_arguments``) or its
  tool does not exist: a format error;
* a call is **invalid** when it is well formed but the environment answered with an error,
  unless the very same call (name and arguments) is one of the gold actions (some gold
  actions fail on purpose, e.g. a lookup with the wrong email the user gave);
* an agent write **matches** a gold write when the names are equal and so are the compared
  arguments (the action's ``compare_args``, else every argument either side has); each gold
  write is matched at most once, in order, whether or not the call succeeded (a gold write
  can fail too: tau2's task 105);
* an **extra write** is a write call that succeeded and matched no gold write (a failed write
  changed nothing and is counted as an invalid call instead);
* two calls are **identical** when name and canonical argument JSON are equal.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from taskforge.contracts import (
    Action,
    Message,
    RewardInfo,
    Task,
    TerminationReason,
    ToolCall,
)
from taskforge.contracts.rewardspec import RewardNotes
from taskforge.env.db import Database
from taskforge.env.replay import calls_in, initial_environment
from taskforge.env.toolkit import Toolkit
from taskforge.rewards.tokens import TokenCount, count_tokens

_MISSING = object()

DEFAULT_FORBIDDEN_PATTERNS = ("<tool_call>", "</tool_call>", "<|im_start|>", "<|im_end|>")
"""Text that should never reach the user: an unparsed tool call or a chat-template token."""


@dataclass(frozen=True)
class CallOutcome:
    """One agent tool call as the environment answered it on replay."""

    call: ToolCall
    known: bool
    is_write: bool
    error: str | None

    @property
    def malformed(self) -> bool:
        """Arguments that were not a JSON object, or a tool that does not exist."""
        return self.call.raw_arguments is not None or not self.known


def call_key(call: ToolCall | Action) -> tuple[str, str]:
    """Name and canonical argument JSON (the raw string when it was not JSON)."""
    raw = getattr(call, "raw_arguments", None)
    args = raw if raw is not None else json.dumps(call.arguments, sort_keys=True, default=str)
    return call.name, args


def write_matches(action: Action, call: ToolCall) -> bool:
    """Whether an agent write carries out a gold write (see the module docstring)."""
    if action.name != call.name or call.raw_arguments is not None:
        return False
    if action.compare_args is not None:
        keys = set(action.compare_args)
    else:
        keys = set(action.arguments) | set(call.arguments)
    return all(action.arguments.get(k, _MISSING) == call.arguments.get(k, _MISSING) for k in keys)


def replay_calls(
    toolkit_cls: type[Toolkit], db: Database, task: Task, messages: Sequence[Message]
) -> list[CallOutcome]:
    """Replay every call (reads too) on a fresh environment; the agent's calls' outcomes."""
    env = initial_environment(toolkit_cls, db, task)
    outcomes = []
    for call in calls_in(messages):
        args: dict[str, Any] | str = (
            call.raw_arguments if call.raw_arguments is not None else call.arguments
        )
        _value, error = env.run(call.name, args)
        if call.requestor == "assistant":
            known = call.name in toolkit_cls.specs
            outcomes.append(CallOutcome(call, known, env.is_write(call.name), error))
    return outcomes


@dataclass(frozen=True)
class WriteMatch:
    """Gold writes against the agent's successful writes."""

    n_gold: int
    matched: int
    extra: int


@dataclass
class ScoreContext:
    """One episode to score, with everything the components need."""

    task: Task
    messages: list[Message]
    termination: TerminationReason
    reward_info: RewardInfo
    toolkit_cls: type[Toolkit]
    gold_messages: list[Message]
    calls: list[CallOutcome]
    detail: dict[str, Any] = field(default_factory=dict)

    def note(self, **values: Any) -> None:
        """Record what the component being scored counted (goes into its breakdown)."""
        self.detail.update(values)

    @cached_property
    def gold_actions(self) -> list[Action]:
        """The agent's gold actions (user-side actions are the user's to make)."""
        return [a for a in self.task.gold_actions() if a.requestor == "assistant"]

    @cached_property
    def gold_call_counts(self) -> Counter[tuple[str, str]]:
        """How often each identical call appears among the gold actions."""
        return Counter(call_key(a) for a in self.gold_actions)

    @cached_property
    def call_keys(self) -> list[tuple[str, str]]:
        """Identity of each agent call, in order."""
        return [call_key(o.call) for o in self.calls]

    @cached_property
    def writes(self) -> WriteMatch:
        """Gold writes matched and extra writes (see the module docstring)."""
        gold = [a for a in self.gold_actions if _is_write(self.toolkit_cls, a.name)]
        open_gold = list(gold)
        extra = 0
        for outcome in self.calls:
            if not outcome.is_write:
                continue
            hit = next((a for a in open_gold if write_matches(a, outcome.call)), None)
            if hit is not None:
                open_gold.remove(hit)
            elif outcome.error is None:
                extra += 1
        return WriteMatch(len(gold), len(gold) - len(open_gold), extra)

    @cached_property
    def n_invalid_calls(self) -> int:
        """Well-formed calls answered with an error that are not gold actions."""
        gold = self.gold_call_counts
        return sum(
            1
            for o, key in zip(self.calls, self.call_keys, strict=True)
            if not o.malformed and o.error is not None and key not in gold
        )

    def n_format_errors(self, patterns: Iterable[str] = DEFAULT_FORBIDDEN_PATTERNS) -> int:
        """Malformed calls, empty assistant turns and assistant text with forbidden patterns."""
        found = sum(o.malformed for o in self.calls)
        patterns = [p for p in patterns if p]
        for message in self.messages:
            if message.role != "assistant":
                continue
            text = message.content or ""
            if not message.tool_calls and not text.strip():
                found += 1
            if any(p in text for p in patterns):
                found += 1
        return found

    def tokens(self, roles: Iterable[str]) -> TokenCount:
        """Tokens of the episode's messages of the given roles."""
        return count_tokens(self.messages, roles)

    def gold_tokens(self, roles: Iterable[str]) -> TokenCount:
        """Tokens of the honest gold trajectory's messages of the given roles."""
        return count_tokens(self.gold_messages, roles)

    def notes(self) -> RewardNotes:
        """The counted facts, for the breakdown."""
        counts = Counter(self.call_keys)
        consecutive = sum(a == b for a, b in zip(self.call_keys, self.call_keys[1:], strict=False))
        assistant, tool = self.tokens(["assistant"]), self.tokens(["tool"])
        source = {assistant.source, tool.source} - {"none"}
        return RewardNotes(
            n_tool_calls=len(self.calls),
            n_invalid_calls=self.n_invalid_calls,
            n_format_errors=self.n_format_errors(),
            n_gold_writes=self.writes.n_gold,
            n_gold_writes_matched=self.writes.matched,
            n_extra_writes=self.writes.extra,
            max_identical_calls=max(counts.values(), default=0),
            n_consecutive_repeats=consecutive,
            n_assistant_tokens=assistant.n,
            n_tool_tokens=tool.n,
            token_source=source.pop() if len(source) == 1 else ("mixed" if source else "none"),
        )


def _is_write(toolkit_cls: type[Toolkit], name: str) -> bool:
    spec = toolkit_cls.specs.get(name)
    return spec is not None and spec.mutates
