"""Fields that no known version of a source format writes: found, set aside, put back.

taskforge's contracts forbid unknown fields. An input adapter (the edge) may be more lenient:
it takes the fields a contract does not declare out of a record (:func:`split_unknown`),
validates the rest, warns once per field (:func:`unknown_warnings`), and keeps the record as
written, unknown fields included, in the warehouse rows (messages' and trajectories' ``extra``).
Reading back, :func:`split_unknown` again separates what the contract reads from what it
does not, so a record round-trips whole (see :mod:`taskforge.warehouse.load`).
"""

from __future__ import annotations

import types
import typing
from typing import Any

from pydantic import BaseModel

FieldPath = tuple[str | int, ...]
"""Where a value sits in a record: keys and list positions, from the top."""


def _declared(model: type[BaseModel]) -> dict[str, Any]:
    """Field name (and alias) -> annotation, for every field ``model`` declares."""
    fields = model.model_fields
    known = {name: info.annotation for name, info in fields.items()}
    known.update({info.alias: info.annotation for info in fields.values() if info.alias})
    return known


def _split_value(
    value: Any, annotation: Any, at: FieldPath, out: list[tuple[FieldPath, Any]]
) -> Any:
    """``value`` without the fields the models in ``annotation`` do not declare (set in ``out``)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return _split_model(value, annotation, at, out) if isinstance(value, dict) else value
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        models = [a for a in args if isinstance(a, type) and issubclass(a, BaseModel)]
        rest = [a for a in args if a is not type(None) and a not in models]
        if isinstance(value, dict) and len(models) == 1:
            return _split_model(value, models[0], at, out)
        return _split_value(value, rest[0], at, out) if len(rest) == 1 else value
    if origin is list and args and isinstance(value, list):
        return [_split_value(v, args[0], (*at, i), out) for i, v in enumerate(value)]
    if origin is dict and len(args) == 2 and isinstance(value, dict):
        return {k: _split_value(v, args[1], (*at, k), out) for k, v in value.items()}
    return value


def _split_model(
    data: dict[str, Any], model: type[BaseModel], at: FieldPath, out: list[tuple[FieldPath, Any]]
) -> dict[str, Any]:
    known = _declared(model)
    clean = {}
    for key, value in data.items():
        if key in known:
            clean[key] = _split_value(value, known[key], (*at, key), out)
        else:
            out.append(((*at, key), value))
    return clean


def split_unknown(
    data: dict[str, Any], model: type[BaseModel]
) -> tuple[dict[str, Any], list[tuple[FieldPath, Any]]]:
    """``data`` with only the fields ``model`` declares (recursively, through nested contracts),
    and the others with where they were. ``data`` itself is not changed."""
    out: list[tuple[FieldPath, Any]] = []
    return _split_model(data, model, (), out), out


def put_back(data: dict[str, Any], unknown: list[tuple[FieldPath, Any]]) -> dict[str, Any]:
    """``data`` (changed in place) with the fields :func:`split_unknown` took out set again."""
    for path, value in unknown:
        target: Any = data
        for step in path[:-1]:
            target = target[step]
        if isinstance(target, dict):
            target[path[-1]] = value
    return data


def field_name(path: FieldPath) -> str:
    """A field path as one dotted name, list positions as ``*`` (``messages.*.surprise``)."""
    return ".".join("*" if isinstance(step, int) else str(step) for step in path)


def unknown_warnings(where: str, found: list[tuple[str, FieldPath]], source: str) -> list[str]:
    """One warning per unknown field (by name), naming the first record that has it.

    Args:
        where: The file (and part of it) the records come from.
        found: (record label, field path) for every unknown field met, in record order.
        source: The format's name, as the warning says it (``tau2``).

    Returns:
        Warnings, in the order the fields were first met.
    """
    first: dict[str, str] = {}
    for label, path in found:
        first.setdefault(field_name(path), label)
    return [
        f"{where}: field {name} is in no known {source} version (first in record {label}); "
        "kept as written, not read"
        for name, label in first.items()
    ]


__all__ = ["FieldPath", "field_name", "put_back", "split_unknown", "unknown_warnings"]
