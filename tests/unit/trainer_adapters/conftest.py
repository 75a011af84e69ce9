"""Fixtures for the verl adapter's pure parts: a few seed tasks, the bundled DB, and the honest
scripted dialogue of a task (the scripted policy with no error modes vs the scripted user)."""

from __future__ import annotations

from pathlib import Path

import pytest

from taskforge.contracts import Message, Task
from taskforge.contracts.io import load_tasks
from taskforge.domains import get_domain
from taskforge.env.db import Database
from taskforge.pool import pool_from_tasks
from taskforge.rollout.runner import episode_seed
from taskforge.rollout.scripted_loop import run_scripted_episode

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="session")
def seed_tasks() -> list[Task]:
    """Four of the shipped seed tasks (cancel, return, exchange... one write each)."""
    return load_tasks(REPO / "datasets" / "retail" / "seed_tasks.json")[:4]


@pytest.fixture(scope="session")
def db() -> Database:
    """The bundled DB the seed tasks run on."""
    return get_domain("retail").load_db()


@pytest.fixture(scope="session")
def small_export(tmp_path_factory: pytest.TempPathFactory, seed_tasks: list[Task], db: Database):  # type: ignore[no-untyped-def]
    """An export of the four seed tasks (one validation row), written once."""
    from trainer_adapters.verl.export import VerlExportOptions, export_verl

    out = tmp_path_factory.mktemp("export") / "pool"
    pool = pool_from_tasks("seeds", 1, seed_tasks, "retail", mode="raft-union")
    return export_verl(pool, seed_tasks, db, out, VerlExportOptions(val_fraction=0.25))


def honest_dialogue(task: Task, db: Database, seed: int = 0) -> list[Message]:
    """The scripted policy (no error modes) against the scripted user, greeting first."""
    toolkit = get_domain("retail").toolkit_cls
    messages, fired, _ = run_scripted_episode(task, db, toolkit, {}, episode_seed(seed, task.id, 0))
    assert not fired
    return messages
