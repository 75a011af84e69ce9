"""Fixtures of the reward tests: the shipped seed tasks and a scorer on the shipped DB."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="session")
def seed_tasks():  # type: ignore[no-untyped-def]
    """The seed tasks shipped in datasets/retail."""
    from taskforge.contracts.io import load_tasks

    return load_tasks(REPO / "datasets" / "retail" / "seed_tasks.json")


@pytest.fixture(scope="session")
def scorer(shipped_db, retail):  # type: ignore[no-untyped-def]
    """A scorer on the shipped DB."""
    from taskforge.rewards import Scorer

    return Scorer(retail.toolkit_cls, shipped_db)
