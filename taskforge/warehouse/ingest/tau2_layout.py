"""How a tau2 results file is written, kept at ingest so that an export gives its bytes back.

The warehouse keeps a simulation's values in columns and its other fields in ``extra``; what
that loses is the file's top level (``timestamp``, ``info``, ...), the order of each record's
keys, explicit nulls in fields with a column, and the JSON formatting. tau2 writes its files
from pydantic models, so within one file every simulation has the same keys in the same order,
and so does every message of one role: a *shape* (the key list) per kind of record restores
order and nulls. What a shape cannot say (a file whose records of one kind differ in keys, an
integer in a float column, an empty tool-call list) is listed in the layout's ``inexact``, and
the export says so instead of claiming the same bytes.

A layout (one JSON object per run, table ``source_layouts``)::

    {"json": {"indent": 2, "ensure_ascii": true, "newline": false, "separators": [",", ": "]},
     "top": {"timestamp": ..., "info": {...}, "tasks": null, "simulations": null},
     "tasks": [{"id": ..., "uid": ..., "record": {...}}],   # record: only where needed
     "simulations": ["<tau2 simulation id>", ...],
     "shapes": {"simulation": [...], "message": {"user": [...], ...}, "tool_call": [...],
                "usage": [...]},
     "inexact": ["why the bytes cannot come back", ...]}
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

FLOAT_FIELDS = {"simulation": ("agent_cost", "user_cost", "duration"), "message": ("cost",)}
"""Fields stored in DOUBLE columns: an integer there would come back as a float."""


def json_format(raw: bytes) -> dict[str, Any]:
    """How ``raw`` (a JSON object as bytes) was formatted: what ``json.dumps`` needs to write it
    again (indent, ASCII escapes, separators) and whether a newline ends it."""
    body = raw.lstrip()
    indent: int | str | None = None
    if body[1:2] in (b"\n", b"\r"):
        line = body[1:].lstrip(b"\r\n")
        width = len(line) - len(line.lstrip(b" \t"))
        indent = line[:width].decode() if b"\t" in line[:width] else width
    key_sep = ": " if indent is not None or _spaced_key(body) else ":"
    item_sep = "," if indent is not None or key_sep == ":" else ", "
    return {
        "indent": indent,
        "ensure_ascii": raw.isascii(),
        "newline": raw.endswith(b"\n"),
        "separators": [item_sep, key_sep],
    }


def _spaced_key(body: bytes) -> bool:
    """Whether the first key of a compact JSON object is followed by ``": "`` (Python's json)
    rather than ``":"`` (orjson, pydantic)."""
    start = body.find(b'"')
    end = start + 1
    while 0 < end < len(body) and body[end] != 0x22:  # the key's closing quote
        end += 2 if body[end] == 0x5C else 1  # a backslash escapes the next byte
    return body[end + 1 : end + 3] == b": "


class _Shapes:
    """The key lists met per kind of record, and what would keep an export from being exact."""

    def __init__(self) -> None:
        self.seen: dict[str, dict[tuple[str, ...], None]] = {}
        self.inexact: list[str] = []

    def add(self, kind: str, record: Mapping[str, Any]) -> None:
        self.seen.setdefault(kind, {})[tuple(record)] = None

    def note(self, reason: str) -> None:
        if reason not in self.inexact:
            self.inexact.append(reason)

    def one(self, kind: str) -> list[str] | None:
        """The one key list of ``kind`` (None: none met, or several, which is noted)."""
        found = list(self.seen.get(kind, ()))
        if len(found) > 1:
            self.note(f"{kind.replace('message:', 'messages of role ')}: {len(found)} key orders")
        return list(found[0]) if len(found) == 1 else None


def _scan_message(shapes: _Shapes, message: Mapping[str, Any]) -> None:
    shapes.add(f"message:{message.get('role')}", message)
    if any(type(message.get(k)) is int for k in FLOAT_FIELDS["message"]):
        shapes.note("a message cost is an integer (the warehouse keeps a float)")
    calls = message.get("tool_calls")
    if calls == []:
        shapes.note("a message has an empty tool_calls list (read back as null)")
    for call in calls or ():
        if isinstance(call, Mapping):
            shapes.add("tool_call", call)
    usage = message.get("usage")
    if isinstance(usage, Mapping) and set(usage) == {"prompt_tokens", "completion_tokens"}:
        shapes.add("usage", usage)


def record_shapes(simulations: Iterable[Any]) -> tuple[dict[str, Any], list[str]]:
    """The shapes of these simulations and their messages, and why an export of them would not
    give the same bytes back (empty: it would)."""
    shapes = _Shapes()
    for sim in simulations:
        if not isinstance(sim, Mapping):
            continue
        shapes.add("simulation", sim)
        if any(type(sim.get(k)) is int for k in FLOAT_FIELDS["simulation"]):
            shapes.note("a simulation cost or duration is an integer (the warehouse keeps a float)")
        for message in sim.get("messages") or ():
            if isinstance(message, Mapping):
                _scan_message(shapes, message)
    roles = sorted(k.split(":", 1)[1] for k in shapes.seen if k.startswith("message:"))
    out = {
        "simulation": shapes.one("simulation"),
        "message": {role: shapes.one(f"message:{role}") for role in roles},
        "tool_call": shapes.one("tool_call"),
        "usage": shapes.one("usage"),
    }
    return out, shapes.inexact


def file_layout(data: Mapping[str, Any], formatting: dict[str, Any] | None) -> dict[str, Any]:
    """The layout of a parsed results object (``formatting``: :func:`json_format` of its bytes,
    None for the dir format, whose export is a single file and so not the same bytes)."""
    sims = data.get("simulations") or []
    shapes, inexact = record_shapes(sims)
    if formatting is None:
        inexact.append("dir format (results.json + simulations/): exported as one file")
    ids = [s.get("id") for s in sims if isinstance(s, Mapping)]
    if len(set(map(str, ids))) != len(ids):
        inexact.append("simulation ids repeat: their order in the file is not kept")
    return {
        "json": formatting,
        "top": {k: (None if k in ("tasks", "simulations") else v) for k, v in data.items()},
        "tasks": [
            {"id": t.get("id"), "record": t} for t in data.get("tasks") or [] if isinstance(t, dict)
        ],
        "simulations": ids,
        "shapes": shapes,
        "inexact": inexact,
    }


def reshape(record: Mapping[str, Any], shape: list[str] | None) -> tuple[dict[str, Any], bool]:
    """``record`` with the keys of ``shape`` in its order (null where the record has none),
    then any others; and whether it has no others (so the shape gave it back whole). With no
    shape (the file's records of this kind differ, which its layout's ``inexact`` says), the
    record as it is."""
    if shape is None:
        return dict(record), True
    out = {k: record.get(k) for k in shape}
    rest = {k: v for k, v in record.items() if k not in out}
    return out | rest, not rest


__all__ = ["file_layout", "json_format", "record_shapes", "reshape"]
