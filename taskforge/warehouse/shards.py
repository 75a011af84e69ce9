"""Writing taskforge JSONL shards: how many producers feed one warehouse.

DuckDB has one writer. Rollout workers therefore never open the warehouse: each writes its own
shards (``<dir>/<worker>-<n>.jsonl``) through :class:`ShardWriter`, which writes under a hidden
temporary name and renames the file into place when it is closed, so a shard is either absent
or complete. One ``taskforge ingest jsonl DIR`` (run as often as wanted) lands the shards it has
not seen yet, each in one transaction; readers use read-only connections in between.
"""

from __future__ import annotations

import os
from pathlib import Path
from types import TracebackType

import orjson

from taskforge.contracts import Run, Task, Trajectory


class ShardWriter:
    """Append runs, tasks and trajectories to one shard; it appears only when closed."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if not self.path.name.endswith(".jsonl"):
            raise ValueError(f"{self.path}: a shard's name must end in .jsonl")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        self._file = self._tmp.open("wb")

    def _write(self, record: dict[str, object]) -> None:
        self._file.write(orjson.dumps(record) + b"\n")

    def run(self, run: Run) -> None:
        """Announce a run."""
        self._write({"type": "run", "run": run.model_dump(mode="json", exclude_none=True)})

    def task(self, run_id: str, task: Task) -> None:
        """Record a task the run uses."""
        self._write({"type": "task", "run_id": run_id, "task": task.to_json_dict()})

    def trajectory(self, run_id: str, trajectory: Trajectory) -> None:
        """Record a finished episode."""
        data = trajectory.model_dump(mode="json", exclude_none=True)
        self._write({"type": "trajectory", "run_id": run_id, "trajectory": data})

    def close(self) -> None:
        """Flush, sync and move the shard into place."""
        if self._file.closed:
            return
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        os.replace(self._tmp, self.path)

    def abort(self) -> None:
        """Drop the shard."""
        self._file.close()
        self._tmp.unlink(missing_ok=True)

    def __enter__(self) -> ShardWriter:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if kind is None:
            self.close()
        else:
            self.abort()
