"""Structured difference between two end states, for diagnosing failures."""

from __future__ import annotations

from typing import Any

from taskforge.contracts import DivergentWrite, FieldDiff
from taskforge.env.db import State
from taskforge.env.replay import WriteRecord


def state_diff(expected: State, actual: State) -> list[FieldDiff]:
    """Field-level differences between two states over the same base."""
    touched: dict[str, set[str]] = {}
    for state in (expected, actual):
        for table, keys in state.changed_keys().items():
            touched.setdefault(table, set()).update(keys)
    diffs: list[FieldDiff] = []
    for table in sorted(touched):
        for key in sorted(touched[table]):
            diffs.extend(_record_diff(table, key, expected.get(table, key), actual.get(table, key)))
    return diffs


def _record_diff(table: str, key: str, expected: Any, actual: Any) -> list[FieldDiff]:
    if expected is None or actual is None:
        if expected is actual:
            return []
        return [FieldDiff(table=table, key=key, field="", expected=expected, actual=actual)]
    return [
        FieldDiff(table=table, key=key, field=path, expected=exp, actual=act)
        for path, exp, act in _walk("", expected, actual)
    ]


def _walk(path: str, expected: Any, actual: Any) -> list[tuple[str, Any, Any]]:
    if expected == actual:
        return []
    if isinstance(expected, dict) and isinstance(actual, dict):
        out: list[tuple[str, Any, Any]] = []
        for k in list(expected) + [k for k in actual if k not in expected]:
            out.extend(_walk(_join(path, k), expected.get(k), actual.get(k)))
        return out
    if isinstance(expected, list) and isinstance(actual, list) and len(expected) == len(actual):
        out = []
        for i, (e, a) in enumerate(zip(expected, actual, strict=True)):
            out.extend(_walk(_join(path, str(i)), e, a))
        return out
    return [(path, expected, actual)]


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def first_divergent_write(
    gold: list[WriteRecord], actual: list[WriteRecord]
) -> DivergentWrite | None:
    """The first position where the agent's writes depart from the gold writes."""
    gold_ok = [w for w in gold if w.error is None]
    for i in range(max(len(gold_ok), len(actual))):
        exp = gold_ok[i] if i < len(gold_ok) else None
        act = actual[i] if i < len(actual) else None
        same = exp is not None and act is not None and _same(exp, act) and act.error is None
        if not same:
            return DivergentWrite(
                index=i,
                expected=_as_call(exp),
                actual=_as_call(act),
                actual_error=act.error if act is not None else None,
            )
    return None


def _same(a: WriteRecord, b: WriteRecord) -> bool:
    return a.name == b.name and a.arguments == b.arguments


def _as_call(write: WriteRecord | None) -> dict[str, Any] | None:
    return None if write is None else {"name": write.name, "arguments": write.arguments}
