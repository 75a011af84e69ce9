"""Domain databases: an immutable base snapshot and cheap copy-on-write episode states.

A :class:`Database` holds a domain's data as tables of JSON-like records (``table -> key ->
record``), validated once through the domain's pydantic model. Its content hash is the sum,
modulo 2**128, of one BLAKE2b digest per record (over table, key and the record's canonical
JSON), so the hash of an episode :class:`State` is updated from the records that changed
instead of re-serialising the whole DB. Starting an episode copies nothing: a state reads
through to the base and copies a record only when a tool edits it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import orjson
from pydantic import BaseModel, ValidationError

from taskforge.errors import DataError, describe_validation_error

Record = dict[str, Any]
_MASK = (1 << 128) - 1
_DELETED: Record = {}


def record_digest(table: str, key: str, record: Record) -> int:
    """128-bit digest of one record, the unit the DB hash is summed from."""
    h = hashlib.blake2b(digest_size=16)
    h.update(f"{table}\x00{key}\x00".encode())
    h.update(orjson.dumps(record, option=orjson.OPT_SORT_KEYS))
    return int.from_bytes(h.digest(), "big")


def copy_json(value: Any) -> Any:
    """Deep copy of JSON data (dicts, lists, str, numbers, bools, None).

    A round trip through orjson (C code) is several times faster than copy.deepcopy or a
    Python recursion, and exact: floats print shortest-repr and parse back to the same value.
    """
    return orjson.loads(orjson.dumps(value))


class Database:
    """An immutable snapshot of a domain's data with a stable content hash.

    Subclasses name the pydantic ``model`` that validates the whole DB; every top-level field
    of the model is a table (a dict of records).
    """

    model: ClassVar[type[BaseModel]]

    def __init__(self, tables: dict[str, dict[str, Record]]) -> None:
        self.tables = tables
        self.digests = {
            t: {k: record_digest(t, k, r) for k, r in recs.items()} for t, recs in tables.items()
        }
        self.digest_sum = sum(d for recs in self.digests.values() for d in recs.values()) & _MASK
        self.source: str | None = None
        """The file the snapshot was read from (None when built from data in memory)."""

    @classmethod
    def from_dict(cls, data: Any, source: str = "<data>") -> Database:
        """Validate ``data`` with the domain model and build the snapshot."""
        try:
            model = cls.model.model_validate(data)
        except ValidationError as exc:
            raise DataError(describe_validation_error(source, exc)) from exc
        db = cls(model.model_dump())
        db.source = None if source == "<data>" else source
        return db

    @classmethod
    def load(cls, path: str | Path) -> Database:
        """Read and validate a DB JSON file."""
        path = Path(path)
        try:
            data = orjson.loads(path.read_bytes())
        except FileNotFoundError as exc:
            raise DataError(f"{path}: no such file") from exc
        except orjson.JSONDecodeError as exc:
            raise DataError(f"{path}: not valid JSON ({exc})") from exc
        return cls.from_dict(data, source=str(path))

    @property
    def hash(self) -> str:
        """Content hash of the snapshot (hex)."""
        return f"{self.digest_sum:032x}"

    def fresh(self) -> State:
        """A new episode state over this snapshot; O(1), nothing is copied."""
        return State(self)

    def to_dict(self) -> dict[str, dict[str, Record]]:
        """The data in the domain's JSON format."""
        return self.tables

    def full_json_hash(self) -> str:
        """Naive whole-DB hash (SHA-256 of the sorted JSON dump), as tau2 computes it."""
        return hashlib.sha256(json.dumps(self.tables, sort_keys=True).encode()).hexdigest()


class State:
    """Copy-on-write view of a :class:`Database` for one episode."""

    __slots__ = ("base", "overlay")

    def __init__(self, base: Database) -> None:
        self.base = base
        self.overlay: dict[str, dict[str, Record]] = {}

    def table(self, name: str) -> Table:
        """A view of one table."""
        if name not in self.base.tables:
            raise KeyError(f"unknown table {name!r}")
        return Table(self, name)

    def get(self, table: str, key: str) -> Record | None:
        """The current record, read-only (use :meth:`edit` to change it)."""
        changed = self.overlay.get(table)
        if changed is not None and key in changed:
            rec = changed[key]
            return None if rec is _DELETED else rec
        return self.base.tables[table].get(key)

    def edit(self, table: str, key: str) -> Record:
        """The record, copied into this episode on first edit; raises KeyError if absent."""
        changed = self.overlay.setdefault(table, {})
        rec = changed.get(key)
        if rec is None:
            rec = copy_json(self.base.tables[table][key])
            changed[key] = rec
        elif rec is _DELETED:
            raise KeyError(key)
        return rec

    def put(self, table: str, key: str, record: Record) -> None:
        """Insert or replace a record."""
        self.overlay.setdefault(table, {})[key] = record

    def delete(self, table: str, key: str) -> None:
        """Remove a record."""
        self.overlay.setdefault(table, {})[key] = _DELETED

    def items(self, table: str) -> Iterator[tuple[str, Record]]:
        """Current records of a table, in the base's order, then new ones."""
        changed = self.overlay.get(table, {})
        for key, rec in self.base.tables[table].items():
            cur = changed.get(key, rec)
            if cur is not _DELETED:
                yield key, cur
        for key, rec in changed.items():
            if key not in self.base.tables[table] and rec is not _DELETED:
                yield key, rec

    def changed_keys(self) -> dict[str, list[str]]:
        """Keys of the records this episode touched, per table."""
        return {t: list(recs) for t, recs in self.overlay.items() if recs}

    @property
    def hash(self) -> str:
        """Content hash, equal to the hash of a :class:`Database` holding the same data."""
        total = self.base.digest_sum
        for table, recs in self.overlay.items():
            base_digests = self.base.digests[table]
            for key, rec in recs.items():
                total -= base_digests.get(key, 0)
                if rec is not _DELETED:
                    total += record_digest(table, key, rec)
        return f"{total & _MASK:032x}"

    def to_dict(self) -> dict[str, dict[str, Record]]:
        """Materialise the current data (for dumps and diffs; not needed per episode)."""
        return {t: dict(self.items(t)) for t in self.base.tables}


class Table:
    """A single table of a :class:`State`, for readable tool code."""

    __slots__ = ("name", "state")

    def __init__(self, state: State, name: str) -> None:
        self.state = state
        self.name = name

    def get(self, key: str) -> Record | None:
        """Read-only record or None."""
        return self.state.get(self.name, key)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.state.get(self.name, key) is not None

    def edit(self, key: str) -> Record:
        """Mutable (copied-on-write) record."""
        return self.state.edit(self.name, key)

    def items(self) -> Iterator[tuple[str, Record]]:
        """Current (key, record) pairs."""
        return self.state.items(self.name)

    def values(self) -> Iterator[Record]:
        """Current records."""
        return (rec for _, rec in self.state.items(self.name))
