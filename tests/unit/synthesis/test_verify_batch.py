"""Verification fanned out in chunks gives the verdicts of one pass, in the tasks' order.

An executor that leaves nothing in common with the caller but pickled items (each chunk and
each result goes through pickle, as to a Ray worker) stands in for Ray here; the Ray run itself
is in tests/integration/test_ray_scale.py.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from taskforge.contracts import Task
from taskforge.domains import get_domain
from taskforge.errors import DataError
from taskforge.executors.local import LocalExecutor
from taskforge.synthesis.verify import verify_tasks
from taskforge.synthesis.verify_batch import verify_chunk, verify_jobs, verify_on
from tests.verify_candidates import candidates

DOM = get_domain("retail")


class PickledExecutor:
    """Runs each item after a pickle round trip, last chunk first (out of order)."""

    name, in_process = "pickled", False

    def __init__(self, workers: int = 3) -> None:
        self.n = workers
        self.seen: list[Any] = []

    def workers(self) -> int:
        return self.n

    def map(self, fn: Callable[[Any], Any], items: Sequence[Any]) -> Iterator[Any]:
        for item in reversed(items):
            self.seen.append(item)
            yield pickle.loads(pickle.dumps(fn(pickle.loads(pickle.dumps(item)))))

    def close(self) -> None:
        pass


@pytest.fixture(scope="module")
def tasks() -> list[Task]:
    return candidates()


def test_chunks_verify_to_the_verdicts_of_one_pass_in_order(tasks: list[Task]) -> None:
    db = DOM.load_db()
    reference = verify_tasks(tasks, DOM.toolkit_cls, db)
    assert 0 < sum(v.accepted for v in reference) < len(reference)  # both kinds are there
    executor = PickledExecutor(workers=3)
    done: list[int] = []
    verdicts = verify_on(executor, tasks, "retail", db, on_done=done.append)
    assert verdicts == reference  # certificates included
    assert len(executor.seen) == 6 and sum(done) == len(tasks)
    assert executor.seen[-1].db == Path(db.source or "").resolve()  # workers load the file


def test_an_in_memory_db_travels_with_the_chunks(tasks: list[Task]) -> None:
    db = DOM.load_db()
    memory = type(db).from_dict(db.to_dict())
    assert memory.source is None and memory.hash == db.hash
    verdicts = verify_on(PickledExecutor(2), tasks[:8], "retail", memory)
    assert verdicts == verify_tasks(tasks[:8], DOM.toolkit_cls, memory)


def test_the_local_executor_verifies_in_one_pass(tasks: list[Task]) -> None:
    db = DOM.load_db()
    assert verify_on(LocalExecutor(), tasks[:5], "retail", db) == verify_tasks(
        tasks[:5], DOM.toolkit_cls, db
    )
    assert verify_on(PickledExecutor(), [], "retail", db) == []


def test_a_worker_refuses_a_db_file_that_changed(tasks: list[Task]) -> None:
    job = verify_jobs(tasks[:2], "retail", DOM.load_db(), None, 0, 1)[0]
    job.db_hash = "0" * 16
    with pytest.raises(DataError, match="not the DB the tasks were verified against"):
        verify_chunk(job)
