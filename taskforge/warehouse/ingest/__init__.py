"""Ingest adapters behind one small registry, and the loop that lands files one by one."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from pathlib import Path

from taskforge.errors import DataError
from taskforge.warehouse.ingest.base import Adapter, Batch, FileResult, already_ingested, land
from taskforge.warehouse.store import Warehouse

ADAPTERS: dict[str, str] = {
    "tau2": "taskforge.warehouse.ingest.tau2:Tau2Adapter",
    "jsonl": "taskforge.warehouse.ingest.jsonl:JsonlAdapter",
}
"""Adapter name -> "module:Class", imported on first use. verl rollout dumps get a slot when
the verl adapter lands (issue 7)."""


def get_adapter(name: str) -> Adapter:
    """The adapter called ``name``."""
    if name not in ADAPTERS:
        raise DataError(f"unknown ingest format {name!r}; known: {', '.join(sorted(ADAPTERS))}")
    module, cls = ADAPTERS[name].split(":")
    adapter: Adapter = getattr(importlib.import_module(module), cls)()
    return adapter


def input_files(adapter: Adapter, paths: Iterable[Path]) -> list[Path]:
    """Every input file under the given files and folders."""
    return [f for p in paths for f in adapter.files(Path(p))]


def _land_unless_seen(wh: Warehouse, batch: Batch, adapter: Adapter) -> FileResult:
    if already_ingested(wh, batch.path, batch.content_hash):
        return FileResult(str(batch.path), len(batch.trajectories), 0, 0, already_ingested=True)
    return land(wh, batch, adapter.name)


def ingest_paths(
    target: Warehouse | Path | None,
    adapter: Adapter,
    files: list[Path],
    skip_bad: bool = False,
    on_file: Callable[[FileResult], None] | None = None,
) -> list[FileResult]:
    """Ingest files one by one; each lands whole, in one transaction, or not at all.

    A file is parsed and validated before the warehouse is touched. Given a path (not an open
    :class:`Warehouse`), the warehouse is opened for each file and closed after it, so the
    write lock is held only while a file lands and read-only readers get in between files.
    """
    results = []
    for path in files:
        batch = adapter.parse(path, skip_bad)
        if isinstance(target, Warehouse):
            result = _land_unless_seen(target, batch, adapter)
        else:
            with Warehouse.open(target) as wh:
                result = _land_unless_seen(wh, batch, adapter)
        results.append(result)
        if on_file is not None:
            on_file(result)
    return results


__all__ = [
    "ADAPTERS",
    "Adapter",
    "Batch",
    "FileResult",
    "get_adapter",
    "ingest_paths",
    "input_files",
]
