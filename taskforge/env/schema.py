"""OpenAI function schemas from a function's type hints and Google-style docstring."""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable, Collection, Mapping
from pathlib import Path
from string import Template
from typing import Any

from docstring_parser import parse
from pydantic import BaseModel, Field, create_model


def describe(
    func: Callable[..., Any], terms: Mapping[str, str] | None = None
) -> tuple[str, dict[str, str]]:
    """The description (summary + body) and per-argument descriptions of a docstring.

    ``$NAME`` placeholders in the docstring are replaced from ``terms``, so a toolkit can
    describe a recurring argument (an order id, say) once.
    """
    doc = parse(Template(inspect.getdoc(func) or "").safe_substitute(terms or {}))
    parts = [_unwrap(p) for p in (doc.short_description, doc.long_description) if p]
    args = {p.arg_name: _unwrap(p.description or "") for p in doc.params}
    return "\n\n".join(parts), args


def _unwrap(text: str) -> str:
    """Join the lines of each paragraph: docstring line breaks are layout, not content."""
    paragraphs = text.strip().split("\n\n")
    return "\n\n".join(" ".join(p.split()) for p in paragraphs)


def build_params_model(func: Callable[..., Any], docs: dict[str, str]) -> type[BaseModel]:
    """A pydantic model of the function's parameters (``self`` excluded)."""
    hints = typing.get_type_hints(func)
    fields: dict[str, Any] = {}
    for name, param in inspect.signature(func).parameters.items():
        if name == "self":
            continue
        if name not in docs:
            raise TypeError(f"{func.__qualname__}: argument {name!r} is not documented")
        default = ... if param.default is inspect.Parameter.empty else param.default
        fields[name] = (hints.get(name, Any), Field(default, description=docs[name]))
    model: type[BaseModel] = create_model("parameters", **fields)
    return model


def build_tool_schema(
    func: Callable[..., Any], terms: Mapping[str, str] | None = None
) -> tuple[dict[str, Any], type[BaseModel]]:
    """The OpenAI function schema of ``func`` and the model that validates its arguments."""
    description, docs = describe(func, terms)
    if not description:
        raise TypeError(f"{func.__qualname__}: a tool needs a docstring")
    params = build_params_model(func, docs)
    schema = {
        "type": "function",
        "function": {
            "name": func.__name__,
            "description": description,
            "parameters": params.model_json_schema(),
        },
    }
    return schema, params


def load_schema_overrides(path: Path, tool_names: Collection[str]) -> list[dict[str, Any]]:
    """Exact tool schemas from a file (e.g. what a benchmark shows its models).

    The file is a JSON list of OpenAI function schemas; each must name a known tool and every
    tool must be covered, so a model is never shown a partial tool set.
    """
    from taskforge.contracts.io import read_json
    from taskforge.errors import DataError

    data = read_json(path)
    if not isinstance(data, list):
        raise DataError(f"{path}: expected a JSON list of function schemas")
    names = []
    for index, item in enumerate(data):
        name = item.get("function", {}).get("name") if isinstance(item, dict) else None
        if not isinstance(name, str):
            raise DataError(f"{path}: record #{index}: field function.name: missing")
        if name not in tool_names:
            raise DataError(f"{path}: record #{index}: field function.name: unknown tool {name!r}")
        names.append(name)
    missing = sorted(set(tool_names) - set(names))
    if missing:
        raise DataError(f"{path}: no schema for tool(s): {', '.join(missing)}")
    return data
