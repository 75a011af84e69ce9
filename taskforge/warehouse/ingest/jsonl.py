"""taskforge's own JSONL: lines of runs, tasks and trajectories (what rollout workers write).

Workers write shards into a folder: each shard is written under a temporary name and renamed
to ``*.jsonl`` (or ``*.jsonl.gz``) when complete, so a reader never sees half a shard.
``taskforge ingest jsonl DIR`` picks up the shards it has not seen (by path and content hash).
"""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

import orjson
from pydantic import ValidationError

from taskforge.contracts import RunRecord, TaskRecord, TrajectoryRecord
from taskforge.errors import DataError, describe_validation_error
from taskforge.warehouse.ingest.base import BadRecord, Batch
from taskforge.warehouse.keys import file_hash

_MODELS: dict[str, type[RunRecord | TaskRecord | TrajectoryRecord]] = {
    "run": RunRecord,
    "task": TaskRecord,
    "trajectory": TrajectoryRecord,
}
SUFFIXES = (".jsonl", ".jsonl.gz")


class JsonlAdapter:
    """Reads taskforge JSONL files and folders of shards."""

    name = "jsonl"

    def files(self, path: Path) -> list[Path]:
        """The file, or every complete shard under the folder (sorted)."""
        if path.is_file():
            return [path]
        if not path.is_dir():
            raise DataError(f"{path}: no such file or folder")
        return sorted(
            p
            for p in path.rglob("*")
            if p.is_file() and p.name.endswith(SUFFIXES) and not p.name.startswith(".")
        )

    def content_hash(self, path: Path) -> str:
        """Hash of the file's bytes."""
        return file_hash(path.read_bytes())

    def parse(self, path: Path, skip_bad: bool) -> Batch:
        """Validate every line into one batch."""
        data = path.read_bytes()
        text = gzip.decompress(data) if path.name.endswith(".gz") else data
        batch = Batch(path=path, content_hash=file_hash(data), skip_bad=skip_bad)
        for number, line in enumerate(text.splitlines(), start=1):
            if line.strip():
                self._line(batch, number, line)
        return batch

    def _line(self, batch: Batch, number: int, line: bytes) -> None:
        try:
            raw = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            self._bad(batch, number, f"{batch.path}: line {number}: not valid JSON ({exc})", line)
            return
        kind = raw.get("type") if isinstance(raw, dict) else None
        if kind not in _MODELS:
            reason = f"{batch.path}: line {number}: field type: expected one of {sorted(_MODELS)}"
            self._bad(batch, number, reason, raw)
            return
        try:
            record = _MODELS[kind].model_validate(raw)
        except ValidationError as exc:
            rid = _record_id(raw)
            label = f"line {number}" + (f" (id {rid!r})" if rid else "")
            self._bad(batch, number, describe_validation_error(str(batch.path), exc, label), raw)
            return
        if isinstance(record, RunRecord):
            batch.runs.append(record.run)
        elif isinstance(record, TaskRecord):
            batch.tasks.append((record.run_id, record.task))
        elif isinstance(record, TrajectoryRecord):
            batch.trajectories.append((record.run_id, raw["trajectory"]))

    @staticmethod
    def _bad(batch: Batch, number: int, reason: str, raw: Any) -> None:
        if not batch.skip_bad:
            raise DataError(reason)
        if isinstance(raw, bytes):
            raw = raw.decode("utf-8", "replace")
        batch.bad.append(BadRecord(number, _record_id(raw), reason, raw))


def _record_id(raw: Any) -> str | None:
    if not isinstance(raw, dict):
        return None
    inner = raw.get("trajectory") or raw.get("task") or raw.get("run") or {}
    value = inner.get("id") or inner.get("run_id") if isinstance(inner, dict) else None
    return str(value) if value is not None else None
