"""Shared fixtures: offline environment, the tau2 fixtures in ../shared (skipped when absent)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_TAU2 = REPO.parent / "shared" / "tau2-retail"

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("HF_HOME", tempfile.mkdtemp(prefix="taskforge-hf-"))


@pytest.fixture(scope="session")
def tau2_dir() -> Path:
    """tau2-bench Retail fixtures; tests needing them skip when ../shared is absent."""
    if not (SHARED_TAU2 / "db.json").exists():
        pytest.skip(f"tau2 Retail fixtures not found at {SHARED_TAU2} (../shared is absent)")
    return SHARED_TAU2


@pytest.fixture(scope="session")
def tau2_sample(tau2_dir: Path) -> Path:
    """tau2 1.0.1's own results file (8 gold dialogues, all reward 1; see its MANIFEST)."""
    path = tau2_dir / "formats" / "tau2-1.0.1-sample.json"
    if not path.exists():
        pytest.skip(f"tau2 1.0.1 sample not found at {path}")
    return path


@pytest.fixture(scope="session")
def retail():  # type: ignore[no-untyped-def]
    """The Retail domain."""
    from taskforge.domains import get_domain

    return get_domain("retail")


@pytest.fixture(scope="session")
def tau2_db(tau2_dir: Path, retail):  # type: ignore[no-untyped-def]
    """tau2's Retail DB, loaded once."""
    return retail.load_db(tau2_dir / "db.json")


@pytest.fixture(scope="session")
def tau2_tasks(tau2_dir: Path):  # type: ignore[no-untyped-def]
    """tau2's 114 Retail tasks."""
    from taskforge.contracts.io import load_tasks

    return load_tasks(tau2_dir / "tasks.json")


@pytest.fixture(scope="session")
def shipped_db(retail):  # type: ignore[no-untyped-def]
    """The synthetic DB shipped in datasets/retail."""
    return retail.load_db(REPO / "datasets" / "retail" / "db.json")
