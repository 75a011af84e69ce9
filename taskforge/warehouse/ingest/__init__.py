"""Ingest adapters behind one small registry, and the loop that lands files one by one."""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Iterable
from pathlib import Path

from taskforge.errors import DataError
from taskforge.warehouse.ingest.base import (
    COMPLETE_FILES,
    Adapter,
    Batch,
    FileResult,
    Staged,
    already_ingested,
    land,
)
from taskforge.warehouse.ingest.fastcheck import fast_check
from taskforge.warehouse.ingest.pipeline import Lander, Stager, parse_and_stage
from taskforge.warehouse.store import Warehouse

ADAPTERS: dict[str, str] = {
    "tau2": "taskforge.warehouse.ingest.tau2:Tau2Adapter",
    "jsonl": "taskforge.warehouse.ingest.jsonl:JsonlAdapter",
    "verl": "taskforge.warehouse.ingest.verl:VerlAdapter",
}
"""Adapter name -> "module:Class", imported on first use. verl rollout dumps get a slot when
the verl adapter lands (issue 7)."""

PARALLEL_MIN_BYTES = 16 * 1024 * 1024
"""Below this much input, parsing in worker processes costs more than it saves."""


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


def _known_domains(wh: Warehouse) -> dict[str, str]:
    return dict(wh.con.execute("SELECT run_id, domain FROM runs").fetchall())


def _stored_hashes(wh: Warehouse) -> dict[str, set[str]]:
    """Content hashes of the files that landed whole so far, by path (only files at a stored path
    need hashing to know they are not new)."""
    stored: dict[str, set[str]] = {}
    for path, digest in wh.con.execute(COMPLETE_FILES).fetchall():
        stored.setdefault(path, set()).add(digest)
    return stored


def auto_workers(files: list[Path]) -> int:
    """Worker processes worth starting for these files (1: parse in this process)."""
    size = sum(p.stat().st_size for p in files if p.is_file())
    if len(files) < 2 or size < PARALLEL_MIN_BYTES:
        return 1
    return min(2, os.cpu_count() or 1, len(files))


def ingest_paths(
    target: Warehouse | Path | None,
    adapter: Adapter,
    files: list[Path],
    skip_bad: bool = False,
    on_file: Callable[[FileResult], None] | None = None,
    workers: int = 1,
) -> list[FileResult]:
    """Ingest files one by one; each lands whole, in one transaction, or not at all.

    Files are parsed, validated and flattened before the warehouse is touched; with
    ``workers > 1`` that happens in worker processes (forked where the platform can, else
    spawned, so a script that asks for them needs the usual ``if __name__ == "__main__":``
    guard; see :func:`auto_workers`). Given a path rather than an open :class:`Warehouse`,
    the warehouse is opened for each file and closed after it, so the write lock is held only
    while a file lands and read-only readers get in between files.
    """
    lander = Lander(target, threads=1 if workers > 1 else None)
    try:
        wh = lander.session()
        known, stored = _known_domains(wh), _stored_hashes(wh)
        lander.close()
        seen = {str(p) for p in files if str(p) in stored and _stored(adapter, p, stored)}
        results = [FileResult(p, 0, 0, 0, already_ingested=True) for p in sorted(seen)]
        todo = [p for p in files if str(p) not in seen]
        for result in results:
            _report(result, on_file)
        fork = not isinstance(target, Warehouse)
        stager = Stager(adapter.name, todo, skip_bad, known, workers, fork)
        for path, staged in stager:
            if staged is None:  # its run landed with an earlier file of this call
                staged = parse_and_stage(adapter.name, path, skip_bad, known)
            wh = lander.session()
            result = _land_unless_seen(wh, staged)
            known.update(_known_domains(wh))
            lander.close()
            staged.release()
            results.append(_report(result, on_file))
    finally:
        lander.close()
    return results


def _stored(adapter: Adapter, path: Path, stored: dict[str, set[str]]) -> bool:
    """Whether this file's content is stored at its path (only such files are hashed here)."""
    return adapter.content_hash(path) in stored[str(path)]


def _report(result: FileResult, on_file: Callable[[FileResult], None] | None) -> FileResult:
    if on_file is not None:
        on_file(result)
    return result


def _land_unless_seen(wh: Warehouse, staged: Staged) -> FileResult:
    if already_ingested(wh, staged.path, staged.content_hash):
        return FileResult(staged.path, staged.n_trajectories, 0, 0, already_ingested=True)
    return land(wh, staged)


__all__ = [
    "ADAPTERS",
    "Adapter",
    "Batch",
    "FileResult",
    "auto_workers",
    "fast_check",
    "get_adapter",
    "ingest_paths",
    "input_files",
    "parse_and_stage",
]
