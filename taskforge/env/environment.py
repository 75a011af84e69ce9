"""An episode's environment: a toolkit over a fresh state, answering tool calls with messages."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from taskforge.contracts import Message, ToolCall
from taskforge.env.db import Database, State
from taskforge.env.toolkit import ToolError, Toolkit, parse_arguments


def to_tool_output(value: Any) -> str:
    """Render a tool's return value as tau2 does: strings as-is, the rest as JSON."""
    if isinstance(value, str):
        return value
    if isinstance(value, (bool, int, float)):
        return str(value)
    return json.dumps(value, default=str)


class Environment:
    """One episode: tools bound to a copy-on-write state over a shared base DB."""

    def __init__(
        self,
        toolkit_cls: type[Toolkit],
        db: Database,
        tool_schemas: Sequence[dict[str, Any]] | None = None,
    ) -> None:
        self.toolkit_cls = toolkit_cls
        self.db = db
        self.state: State = db.fresh()
        self.tools = toolkit_cls(self.state)
        self._schemas = list(tool_schemas) if tool_schemas is not None else None

    def reset(self) -> None:
        """Start a new episode on the base DB (O(1))."""
        self.state = self.db.fresh()
        self.tools = self.toolkit_cls(self.state)

    def tool_schemas(self) -> list[dict[str, Any]]:
        """Schemas shown to a model: the user's substitutes if given, else the toolkit's own."""
        if self._schemas is not None:
            return self._schemas
        return self.toolkit_cls.openai_schemas()

    def is_write(self, name: str) -> bool:
        """Whether ``name`` is a tool that can change the DB."""
        spec = self.toolkit_cls.specs.get(name)
        return spec is not None and spec.mutates

    def execute(self, name: str, arguments: dict[str, Any] | str) -> tuple[str, bool]:
        """Run one tool call; returns (output, is_error) and never raises for agent mistakes."""
        value, error = self.run(name, arguments)
        return (error, True) if error is not None else (to_tool_output(value), False)

    def run(self, name: str, arguments: dict[str, Any] | str) -> tuple[Any, str | None]:
        """Run one tool call; returns (value, None) or (None, "Error: <message>")."""
        try:
            if isinstance(arguments, str):
                arguments = parse_arguments(arguments)
            return self.tools.invoke(name, arguments), None
        except ToolError as exc:
            return None, f"Error: {exc}"
        except Exception as exc:  # a bug in a tool must not end the episode either
            return None, f"Error: {type(exc).__name__}: {exc}"

    def step(self, call: ToolCall) -> Message:
        """Answer a tool call with a tool message (tau2's format)."""
        if call.raw_arguments is not None:
            output, error = self.execute(call.name, call.raw_arguments)
        else:
            output, error = self.execute(call.name, call.arguments)
        return Message(
            role="tool", id=call.id, content=output, requestor=call.requestor, error=error
        )

    @property
    def db_hash(self) -> str:
        """Content hash of the episode's current DB."""
        return self.state.hash
