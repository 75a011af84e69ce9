"""Fixtures for export tests: a two-round pool (targeted tasks and seed tasks) from a warehouse."""

from __future__ import annotations

from pathlib import Path

import pytest

from taskforge.contracts import Task, TaskPool
from taskforge.contracts.io import load_tasks
from taskforge.domains import get_domain
from taskforge.env.db import Database
from taskforge.pool import build_pool, union_pool
from taskforge.warehouse import Warehouse
from tests.unit.pool.conftest import targeted  # noqa: F401  (certified targeted tasks)

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="session")
def bundled_db() -> Database:
    """The bundled DB the targeted and seed tasks run on."""
    return get_domain("retail").load_db()


@pytest.fixture(scope="session")
def union(
    tmp_path_factory: pytest.TempPathFactory,
    targeted: list[Task],  # noqa: F811
) -> tuple[TaskPool, list[Task]]:
    """RAFT's union of two rounds: targeted tasks in round 1, more plus 6 seed tasks in round 2."""
    seeds = load_tasks(REPO / "datasets" / "retail" / "seed_tasks.json")[:6]
    path = tmp_path_factory.mktemp("wh") / "w.duckdb"
    with Warehouse.open(path) as wh:
        build_pool(wh, "demo", 1, targeted[:8])
        build_pool(wh, "demo", 2, [*targeted[8:], *seeds], mode="raft-union")
        return union_pool(wh, "demo")
