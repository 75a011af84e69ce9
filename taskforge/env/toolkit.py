"""Toolkits: typed tool methods marked read, write or generic, with schemas from signatures.

A tool is a method decorated with :func:`tool`. Its OpenAI function schema is derived from
the type hints and the Google-style docstring (see :mod:`taskforge.env.schema`); its
arguments are validated against the same model before it runs, so a missing, extra or
wrong-typed argument becomes an ``Error: ...`` answer instead of an exception.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel, ValidationError

from taskforge.env.db import State
from taskforge.env.schema import build_tool_schema

_TOOL_ATTR = "__taskforge_tool__"
F = TypeVar("F", bound=Callable[..., Any])


class ToolType(str, Enum):
    """What a tool does: only WRITE tools change the DB and are replayed in evaluation."""

    READ = "read"
    WRITE = "write"
    GENERIC = "generic"
    THINK = "think"


class ToolError(Exception):
    """Raised by a tool for a request it refuses; the agent sees ``Error: <message>``."""


def tool(kind: ToolType) -> Callable[[F], F]:
    """Mark a toolkit method as a tool of the given kind."""

    def mark(func: F) -> F:
        setattr(func, _TOOL_ATTR, kind)
        return func

    return mark


@dataclass(frozen=True)
class ToolSpec:
    """A tool's name, kind, JSON schema and argument validator."""

    name: str
    kind: ToolType
    schema: dict[str, Any]
    params: type[BaseModel]
    func: Callable[..., Any]

    @property
    def mutates(self) -> bool:
        """Whether the tool can change the DB."""
        return self.kind is ToolType.WRITE

    def validate(self, arguments: dict[str, Any]) -> dict[str, Any]:
        """Check the arguments; raise ToolError naming the first bad one."""
        fields = self.params.model_fields
        extra = sorted(set(arguments) - set(fields))
        if extra:
            raise ToolError(f"unexpected argument(s) for {self.name}: {', '.join(extra)}")
        try:
            self.params.__pydantic_validator__.validate_python(arguments, strict=True)
        except ValidationError as exc:
            err = exc.errors()[0]
            where = ".".join(str(p) for p in err["loc"]) or "arguments"
            raise ToolError(f"invalid argument {where} for {self.name}: {err['msg']}") from None
        return arguments


class Toolkit:
    """Base class of a domain's tools, bound to one episode :class:`State`."""

    specs: ClassVar[dict[str, ToolSpec]] = {}
    doc_terms: ClassVar[dict[str, str]] = {}
    """``$NAME`` placeholders usable in the tools' docstrings."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        specs: dict[str, ToolSpec] = {}
        for name in sorted(dir(cls)):
            func = getattr(cls, name)
            kind = getattr(func, _TOOL_ATTR, None)
            if kind is not None:
                schema, params = build_tool_schema(func, cls.doc_terms)
                specs[name] = ToolSpec(name, kind, schema, params, func)
        cls.specs = specs

    def __init__(self, state: State) -> None:
        self.state = state

    @classmethod
    def openai_schemas(cls) -> list[dict[str, Any]]:
        """The OpenAI function schemas of every tool, sorted by name."""
        return [spec.schema for spec in cls.specs.values()]

    def invoke(self, name: str, arguments: dict[str, Any] | str) -> Any:
        """Validate and run one tool; raises ToolError for anything the agent got wrong."""
        spec = self.specs.get(name)
        if spec is None:
            raise ToolError(f"Tool '{name}' not found.")
        if isinstance(arguments, str):
            arguments = parse_arguments(arguments)
        return spec.func(self, **spec.validate(arguments))


def parse_arguments(raw: str) -> dict[str, Any]:
    """Decode a JSON argument string; raise ToolError when it is not a JSON object."""
    try:
        value = json.loads(raw) if raw.strip() else {}
    except json.JSONDecodeError as exc:
        raise ToolError(f"arguments are not valid JSON: {exc.msg}") from None
    if not isinstance(value, dict):
        raise ToolError("arguments must be a JSON object")
    return value
