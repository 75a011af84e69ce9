"""Ingest adapters behind one small registry, and the loop that lands files one by one."""

from __future__ import annotations

import importlib
import multiprocessing
import os
import tempfile
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path

from taskforge.errors import DataError
from taskforge.warehouse.ingest.base import (
    Adapter,
    Batch,
    FileResult,
    Staged,
    UnknownRun,
    already_ingested,
    gc_paused,
    land,
    stage,
)
from taskforge.warehouse.store import Warehouse

ADAPTERS: dict[str, str] = {
    "tau2": "taskforge.warehouse.ingest.tau2:Tau2Adapter",
    "jsonl": "taskforge.warehouse.ingest.jsonl:JsonlAdapter",
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


def parse_and_stage(
    adapter_name: str, path: Path, skip_bad: bool, known_domains: dict[str, str]
) -> Staged:
    """Parse, validate and flatten one file (no database involved; runs in a worker)."""
    adapter = get_adapter(adapter_name)
    with gc_paused():
        batch: Batch = adapter.parse(path, skip_bad)
        return stage(batch, adapter.name, known_domains)


def stage_spilled(
    adapter_name: str, path: Path, skip_bad: bool, known_domains: dict[str, str], folder: Path
) -> Staged:
    """:func:`parse_and_stage`, with the tables left in Arrow IPC files in ``folder``."""
    staged = parse_and_stage(adapter_name, path, skip_bad, known_domains)
    staged.spill(folder)
    return staged


def _known_domains(wh: Warehouse) -> dict[str, str]:
    return dict(wh.con.execute("SELECT run_id, domain FROM runs").fetchall())


def _stored_hashes(wh: Warehouse) -> dict[str, set[str]]:
    """Content hashes of the files ingested so far, by path (only files at a stored path need
    hashing to know they are not new)."""
    stored: dict[str, set[str]] = {}
    for path, digest in wh.con.execute("SELECT path, content_hash FROM ingested_files").fetchall():
        stored.setdefault(path, set()).add(digest)
    return stored


def _staged_files(
    adapter: Adapter,
    files: list[Path],
    skip_bad: bool,
    known: dict[str, str],
    workers: int,
    fork: bool,
) -> Iterator[tuple[Path, Staged | None]]:
    """Staged files in order; None where the file needs runs landed by an earlier file."""
    if workers <= 1:
        for path in files:
            yield path, _stage_or_none(adapter.name, path, skip_bad, known)
        return
    with (
        tempfile.TemporaryDirectory(prefix="taskforge-ingest-") as folder,
        ProcessPoolExecutor(max_workers=workers, mp_context=_context(fork)) as pool,
    ):
        pending: deque[tuple[Path, Future[Staged]]] = deque()
        for path in files:
            job = pool.submit(stage_spilled, adapter.name, path, skip_bad, known, Path(folder))
            pending.append((path, job))
            if len(pending) > workers:
                yield _result(*pending.popleft())
        while pending:
            yield _result(*pending.popleft())


def _context(fork: bool) -> multiprocessing.context.BaseContext:
    """Forked workers start at once with everything imported; where there is no fork, or this
    process has a warehouse open (its engine's threads are not forked), they are spawned."""
    if fork and "fork" in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")


def _stage_or_none(name: str, path: Path, skip_bad: bool, known: dict[str, str]) -> Staged | None:
    try:
        return parse_and_stage(name, path, skip_bad, known)
    except UnknownRun:
        return None


def _result(path: Path, future: Future[Staged]) -> tuple[Path, Staged | None]:
    try:
        staged = future.result()
    except UnknownRun:
        return path, None
    staged.load()
    return path, staged


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
    with _session(target) as wh:
        known = _known_domains(wh)
        stored = _stored_hashes(wh)
    seen = {str(p) for p in files if str(p) in stored and adapter.content_hash(p) in stored[str(p)]}
    results = [FileResult(p, 0, 0, 0, already_ingested=True) for p in sorted(seen)]
    for result in results:
        if on_file is not None:
            on_file(result)
    todo = [p for p in files if str(p) not in seen]
    fork = not isinstance(target, Warehouse)
    for path, staged in _staged_files(adapter, todo, skip_bad, known, workers, fork):
        with _session(target) as wh:
            if staged is None:  # its run landed with an earlier file of this call
                staged = parse_and_stage(adapter.name, path, skip_bad, _known_domains(wh))
            result = _land_unless_seen(wh, staged)
            known.update(_known_domains(wh))
        staged.release()
        results.append(result)
        if on_file is not None:
            on_file(result)
    return results


class _session:
    """The given open warehouse, or the one at a path opened for the block."""

    def __init__(self, target: Warehouse | Path | None) -> None:
        self.target = target
        self.opened: Warehouse | None = None

    def __enter__(self) -> Warehouse:
        if isinstance(self.target, Warehouse):
            return self.target
        self.opened = Warehouse.open(self.target)
        return self.opened

    def __exit__(self, *exc: object) -> None:
        if self.opened is not None:
            self.opened.close()


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
    "get_adapter",
    "ingest_paths",
    "input_files",
    "parse_and_stage",
]
