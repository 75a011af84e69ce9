"""The two halves of an ingest: staging files (in worker processes) and landing them.

:class:`Stager` parses, validates and flattens files in order, in this process or in worker
processes that hand their Arrow tables over as IPC files; :class:`Lander` opens the warehouse
for each file that lands (one transaction) and closes it after, so readers get in between.

Holding the write lock over several waiting files (committing to the WAL, checkpointing once)
was measured and is not faster: writing the WAL costs what the per-file checkpoints save.
"""

from __future__ import annotations

import multiprocessing
import tempfile
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path

from taskforge.warehouse.ingest.base import Staged, UnknownRun, gc_paused, stage
from taskforge.warehouse.store import Warehouse


def parse_and_stage(
    adapter_name: str, path: Path, skip_bad: bool, known_domains: dict[str, str]
) -> Staged:
    """Parse, validate and flatten one file (no database involved; runs in a worker)."""
    from taskforge.warehouse.ingest import get_adapter

    adapter = get_adapter(adapter_name)
    with gc_paused():
        batch = adapter.parse(path, skip_bad)
        staged = stage(batch, adapter.name, known_domains)
        del batch  # freed now, so the collection that follows does not walk all of it
    return staged


def stage_spilled(
    adapter_name: str, path: Path, skip_bad: bool, known_domains: dict[str, str], folder: Path
) -> Staged:
    """:func:`parse_and_stage`, with the tables left in Arrow IPC files in ``folder``."""
    staged = parse_and_stage(adapter_name, path, skip_bad, known_domains)
    staged.spill(folder)
    return staged


class Stager:
    """Staged files in order (None where the file needs runs that an earlier file lands)."""

    def __init__(
        self,
        adapter_name: str,
        files: list[Path],
        skip_bad: bool,
        known: dict[str, str],
        workers: int,
        fork: bool,
    ) -> None:
        self.job = (adapter_name, skip_bad, known)
        self.files, self.workers, self.fork = files, workers, fork
        self.pending: deque[tuple[Path, Future[Staged]]] = deque()

    def __iter__(self) -> Iterator[tuple[Path, Staged | None]]:
        name, skip_bad, known = self.job
        if self.workers <= 1:
            for path in self.files:
                yield path, _stage_or_none(name, path, skip_bad, known)
            return
        with (
            tempfile.TemporaryDirectory(prefix="taskforge-ingest-") as folder,
            ProcessPoolExecutor(self.workers, mp_context=_context(self.fork)) as pool,
        ):
            for path in self.files:
                job = pool.submit(stage_spilled, name, path, skip_bad, known, Path(folder))
                self.pending.append((path, job))
                if len(self.pending) > self.workers:
                    yield _result(*self.pending.popleft())
            while self.pending:
                yield _result(*self.pending.popleft())


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


class Lander:
    """The warehouse to land in: the given open one, or the one at a path, opened when a file
    lands and closed after it.

    ``threads``: DuckDB threads for a warehouse this lander opens (1 while worker processes
    stage the next files: they use the other cores, and a second engine thread only contends
    with them; measured: less CPU per file landed for the same wall time).
    """

    def __init__(self, target: Warehouse | Path | None, threads: int | None = None) -> None:
        self.target = target
        self.threads = threads
        self.opened: Warehouse | None = None

    def session(self) -> Warehouse:
        """The warehouse, opened if it is not open."""
        if isinstance(self.target, Warehouse):
            return self.target
        if self.opened is None:
            self.opened = Warehouse.open(self.target)
            if self.threads is not None:
                self.opened.con.execute(f"SET threads = {int(self.threads)}")
        return self.opened

    def close(self) -> None:
        """Release the write lock (if this lander opened the warehouse)."""
        if self.opened is not None:
            self.opened.close()
            self.opened = None


__all__ = ["Lander", "Stager", "parse_and_stage", "stage_spilled"]
