"""Test helper: a tau2 results file with the fields unknown to taskforge.contracts dropped.

tau2 1.0 writes message fields (audio, speech effects, ...) that taskforge's strict contracts
refuse. Until the loader learns them, tests copy such a file with every key that the contract
models do not declare removed, recursively (tasks, simulations, messages, tool calls, reward
info): the contract models' ``model_fields`` say what to keep.
"""

from __future__ import annotations

import json
import types
import typing
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from taskforge.contracts import Tau2Results


def _strip_value(value: Any, annotation: Any) -> Any:
    """``value`` with unknown fields dropped from every pydantic model ``annotation`` holds."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return strip(value, annotation) if isinstance(value, dict) else value
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        if value is None:
            return value
        models = [a for a in args if isinstance(a, type) and issubclass(a, BaseModel)]
        rest = [a for a in args if a is not type(None) and a not in models]
        if isinstance(value, dict) and models:
            return strip(value, models[0])
        return _strip_value(value, rest[0]) if len(rest) == 1 else value
    if origin is list and args and isinstance(value, list):
        return [_strip_value(v, args[0]) for v in value]
    if origin is dict and len(args) == 2 and isinstance(value, dict):
        return {k: _strip_value(v, args[1]) for k, v in value.items()}
    return value


def strip(data: dict[str, Any], model: type[BaseModel]) -> dict[str, Any]:
    """``data`` with only the fields ``model`` declares (aliases included), recursively."""
    fields = model.model_fields
    known = {name: info for name, info in fields.items()}
    known.update({info.alias: info for info in fields.values() if info.alias})
    return {
        key: _strip_value(value, known[key].annotation)
        for key, value in data.items()
        if key in known
    }


def stripped_results(source: Path, target: Path) -> Path:
    """Copy the tau2 results file ``source`` to ``target`` without the fields unknown to us."""
    data = json.loads(source.read_text(encoding="utf-8"))
    target.write_text(json.dumps(strip(data, Tau2Results)), encoding="utf-8")
    return target
