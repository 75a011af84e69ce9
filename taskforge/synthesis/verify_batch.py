"""Verification of many tasks on an executor: in this process, or fanned out on Ray.

:func:`verify_on` splits the tasks into contiguous chunks, about ``CHUNKS_PER_WORKER`` a worker,
and the executor runs :func:`verify_chunk` on each, in a worker that loads the DB itself (from
the file it came from, checked by hash; an in-memory DB travels with the chunk) and builds the
LLM agreement check from the config file. Verdicts come back in the order of the tasks, and
are the verdicts :func:`~taskforge.synthesis.verify.verify_tasks` gives here: verification is
deterministic given the task, the DB and the (cached) agreement answers. The local executor
keeps the one-process path (one evaluator, the caller's agreement check).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from taskforge.contracts import Task
from taskforge.env.db import Database
from taskforge.errors import DataError
from taskforge.executors import Executor
from taskforge.synthesis.verify import AgreementChecker, Verdict, verify_tasks

CHUNKS_PER_WORKER = 2
"""Chunks per worker: a little balancing between slow and fast chunks."""


@dataclass
class VerifyJob:
    """One chunk of tasks to verify (picklable: records, paths and settings)."""

    start: int
    """Index of the chunk's first task among all the tasks."""
    tasks: list[Task]
    domain: str
    db: Path | Database
    """The DB file (loaded by the worker), or the DB itself when it has no file."""
    db_hash: str
    config_path: Path | None = None
    """LLM config whose agreement check judges LLM-written tasks (None: stored checks)."""
    seed: int = 0


@dataclass
class VerifyResult:
    """A verified chunk: where its tasks start, and their verdicts in order."""

    start: int
    verdicts: list[Verdict]


def verify_on(
    executor: Executor,
    tasks: list[Task],
    domain: str,
    db: Database,
    config_path: Path | None = None,
    seed: int = 0,
    agreement: AgreementChecker | None = None,
    on_done: Callable[[int], None] | None = None,
) -> list[Verdict]:
    """The verdict of every task, in order, verified on the executor.

    Args:
        executor: Where the chunks run; an in-process one verifies here, in one pass.
        tasks: The candidates.
        domain: Their domain (its toolkit).
        db: The tasks' DB.
        config_path: The LLM config of the agreement check, for workers (they build it).
        seed: The agreement check's seed.
        agreement: The check to use in this process (default: built from ``config_path``).
        on_done: Told how many tasks were verified each time a chunk finishes.
    """
    from taskforge.domains import get_domain
    from taskforge.synthesis.llm import roles_from_file

    if executor.in_process:
        checker = agreement or roles_from_file(config_path, seed).agreement
        verdicts = verify_tasks(tasks, get_domain(domain).toolkit_cls, db, checker)
        if on_done is not None:
            on_done(len(verdicts))
        return verdicts
    jobs = verify_jobs(tasks, domain, db, config_path, seed, executor.workers())
    out: list[Verdict | None] = [None] * len(tasks)
    for result in executor.map(verify_chunk, jobs):
        out[result.start : result.start + len(result.verdicts)] = result.verdicts
        if on_done is not None:
            on_done(len(result.verdicts))
    return [v for v in out if v is not None]


def verify_jobs(
    tasks: list[Task],
    domain: str,
    db: Database,
    config_path: Path | None,
    seed: int,
    workers: int,
) -> list[VerifyJob]:
    """Contiguous chunks of the tasks, about ``CHUNKS_PER_WORKER`` per worker."""
    n = min(len(tasks), max(1, workers) * CHUNKS_PER_WORKER)
    source: Path | Database = Path(db.source).resolve() if db.source else db
    config = config_path.resolve() if config_path is not None else None
    bounds = [(len(tasks) * i // n, len(tasks) * (i + 1) // n) for i in range(n)]
    return [VerifyJob(lo, tasks[lo:hi], domain, source, db.hash, config, seed) for lo, hi in bounds]


def verify_chunk(job: VerifyJob) -> VerifyResult:
    """Verify one chunk in a worker: the DB loaded (and checked), the agreement check built."""
    from taskforge.domains import get_domain
    from taskforge.synthesis.llm import roles_from_file

    dom = get_domain(job.domain)
    db = _worker_db(dom, job.db, job.db_hash)
    checker = roles_from_file(job.config_path, job.seed).agreement
    return VerifyResult(job.start, verify_tasks(job.tasks, dom.toolkit_cls, db, checker))


_LOADED: dict[tuple[str, str], Database] = {}
"""DBs a worker loaded, by file and hash (a worker verifies many chunks of one DB)."""


def _worker_db(dom: Any, source: Path | Database, db_hash: str) -> Database:
    """The chunk's DB: the one it carries, or the file loaded once per worker process."""
    if isinstance(source, Database):
        return source
    key = (str(source), db_hash)
    if key not in _LOADED:
        db: Database = dom.load_db(source)
        if db.hash != db_hash:
            raise DataError(f"{source}: not the DB the tasks were verified against (hash differs)")
        _LOADED.clear()
        _LOADED[key] = db
    return _LOADED[key]


__all__ = ["VerifyJob", "VerifyResult", "verify_chunk", "verify_jobs", "verify_on"]
