"""taskforge's own JSONL: lines of runs, tasks and trajectories (what rollout workers write).

Workers write shards into a folder: each shard is written under a temporary name and renamed
to ``*.jsonl`` (or ``*.jsonl.gz``) when complete, so a reader never sees half a shard.
``taskforge ingest jsonl DIR`` picks up the shards it has not seen (by path and content hash).
"""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
from pydantic import ValidationError

from taskforge.contracts import RunRecord, Task, TaskRecord, TrajectoryRecord
from taskforge.errors import DataError, describe_validation_error
from taskforge.warehouse.ingest.base import BadRecord, Batch, files_under
from taskforge.warehouse.ingest.fastcheck import fast_check
from taskforge.warehouse.keys import file_hash

_MODELS: dict[str, type[RunRecord | TaskRecord | TrajectoryRecord]] = {
    "run": RunRecord,
    "task": TaskRecord,
    "trajectory": TrajectoryRecord,
}
_TRAJECTORY_OK = fast_check(TrajectoryRecord)
SUFFIXES = (".jsonl", ".jsonl.gz")


class JsonlAdapter:
    """Reads taskforge JSONL files and folders of shards."""

    name = "jsonl"

    def files(self, path: Path) -> list[Path]:
        """The file, or every complete shard under the folder (sorted)."""
        return files_under(path, lambda p: p.name.endswith(SUFFIXES) and not p.name.startswith("."))

    def content_hash(self, path: Path) -> str:
        """Hash of the file's bytes."""
        return file_hash(path.read_bytes())

    def parse(self, path: Path, skip_bad: bool) -> Batch:
        """Validate every line into one batch."""
        data = path.read_bytes()
        text = gzip.decompress(data) if path.name.endswith(".gz") else data
        reader = _Reader(Batch(path=path, content_hash=file_hash(data), skip_bad=skip_bad))
        for number, line in enumerate(_lines(text), start=1):
            if line:
                reader.line(number, line)
        return reader.batch


class _Reader:
    """Validates the lines of one file into its batch."""

    def __init__(self, batch: Batch) -> None:
        self.batch = batch
        self.tasks: dict[bytes, Task] = {}
        """Tasks validated so far, by their JSON: shards repeat each run's tasks."""

    def line(self, number: int, line: memoryview) -> None:
        """Validate one line (a bad one raises, or is quarantined under skip_bad)."""
        batch = self.batch
        try:
            raw = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            if not bytes(line).isspace():
                reason = f"{batch.path}: line {number}: not valid JSON ({exc})"
                self._bad(number, reason, bytes(line))
            return
        kind = raw.get("type") if isinstance(raw, dict) else None
        if kind == "trajectory" and _TRAJECTORY_OK(raw):  # surely valid as written
            batch.trajectories.append((raw["run_id"], raw["trajectory"]))
            return
        task_key = _task_key(raw) if kind == "task" else None
        if task_key is not None and task_key in self.tasks:  # the same task as before
            batch.tasks.append((raw["run_id"], self.tasks[task_key]))
            return
        if kind not in _MODELS:
            reason = f"{batch.path}: line {number}: field type: expected one of {sorted(_MODELS)}"
            self._bad(number, reason, raw)
            return
        try:
            record = _MODELS[kind].model_validate(raw)
        except ValidationError as exc:
            rid = _record_id(raw)
            label = f"line {number}" + (f" (id {rid!r})" if rid else "")
            self._bad(number, describe_validation_error(str(batch.path), exc, label), raw)
            return
        if isinstance(record, RunRecord):
            batch.runs.append(record.run)
        elif isinstance(record, TaskRecord):
            batch.tasks.append((record.run_id, record.task))
            if task_key is not None:
                self.tasks[task_key] = record.task
        elif isinstance(record, TrajectoryRecord):
            batch.add_trajectory(record.run_id, raw["trajectory"], record.trajectory)

    def _bad(self, number: int, reason: str, raw: Any) -> None:
        if not self.batch.skip_bad:
            raise DataError(reason)
        if isinstance(raw, bytes):
            raw = raw.decode("utf-8", "replace")
        self.batch.bad.append(BadRecord(number, _record_id(raw), reason, raw))


def _lines(text: bytes) -> Iterator[memoryview]:
    """The lines of ``text`` as views (no copies), split as ``bytes.splitlines`` splits them."""
    if b"\r" in text:
        yield from (memoryview(line) for line in text.splitlines())
        return
    view = memoryview(text)
    start, end = 0, len(text)
    while start < end:
        stop = text.find(b"\n", start)
        if stop < 0:
            stop = end
        yield view[start:stop]
        start = stop + 1


def _task_key(raw: dict[str, Any]) -> bytes | None:
    """The task's JSON, when the record is otherwise surely valid (a str run_id, no other key)."""
    task = raw.get("task")
    if len(raw) != 3 or type(task) is not dict or type(raw.get("run_id")) is not str:
        return None
    return orjson.dumps(task)


def _record_id(raw: Any) -> str | None:
    if not isinstance(raw, dict):
        return None
    inner = raw.get("trajectory") or raw.get("task") or raw.get("run") or {}
    value = inner.get("id") or inner.get("run_id") if isinstance(inner, dict) else None
    return str(value) if value is not None else None
