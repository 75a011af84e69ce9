"""Replaying tool calls on a fresh state: the basis of evaluation and of task audits."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from taskforge.contracts import Message, Task, ToolCall
from taskforge.env.db import Database, State, copy_json
from taskforge.env.environment import Environment
from taskforge.env.toolkit import Toolkit


@dataclass
class WriteRecord:
    """One write call as replayed: its name, arguments and error (None when it succeeded)."""

    name: str
    arguments: dict[str, Any]
    error: str | None


@dataclass
class ReplayResult:
    """The end state of a replay and the write calls it executed."""

    state: State
    writes: list[WriteRecord] = field(default_factory=list)

    @property
    def hash(self) -> str:
        """Content hash of the end state."""
        return self.state.hash


def calls_in(messages: Iterable[Message]) -> list[ToolCall]:
    """Tool calls of user and assistant messages, in order."""
    return [c for m in messages if m.role in ("assistant", "user") for c in (m.tool_calls or [])]


def initial_environment(toolkit_cls: type[Toolkit], db: Database, task: Task) -> Environment:
    """A fresh environment with the task's initial state applied."""
    env = Environment(toolkit_cls, db)
    init = task.initial_state
    if init is None:
        return env
    data = init.initialization_data
    if data is not None and data.agent_data:
        _merge_into_state(env.state, data.agent_data)
    for action in init.initialization_actions or []:
        _content, error = env.execute(action.func_name, dict(action.arguments))
        if error:
            raise ValueError(f"task {task.id}: initialization action {action.func_name} failed")
    return env


def _merge_into_state(state: State, update: dict[str, Any]) -> None:
    """Deep-merge ``{table: {key: partial record}}`` into the state (tau2's update_db)."""
    for table, records in update.items():
        for key, patch in records.items():
            if state.get(table, key) is None:
                state.put(table, key, copy_json(patch))
            else:
                _deep_merge(state.edit(table, key), patch)


def _deep_merge(target: dict[str, Any], patch: dict[str, Any]) -> None:
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            _deep_merge(target[key], value)
        else:
            target[key] = copy_json(value)


def replay_writes(env: Environment, calls: Iterable[ToolCall]) -> ReplayResult:
    """Execute only the calls to known write tools, as tau2 replays a trajectory."""
    result = ReplayResult(env.state)
    for call in calls:
        if not env.is_write(call.name):
            continue
        args: dict[str, Any] | str = (
            call.raw_arguments if call.raw_arguments is not None else call.arguments
        )
        _value, error = env.run(call.name, args)
        result.writes.append(WriteRecord(call.name, call.arguments, error))
    return result
