"""Task selection for a rollout: splits (tau2's split_tasks.json), limits, clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from taskforge.errors import DataError
from taskforge.rollout.api import select_tasks


def test_split_and_limit(tau2_dir: Path) -> None:
    splits = json.loads((tau2_dir / "split_tasks.json").read_text())
    test = select_tasks(tau2_dir / "tasks.json", "test", None)
    assert {t.id for t in test} == set(map(str, splits["test"])) and len(test) == 40
    assert [t.id for t in select_tasks(tau2_dir / "tasks.json", "train", 5)] == [
        t.id for t in select_tasks(tau2_dir / "tasks.json", "train", None)[:5]
    ]


def test_unknown_split_is_an_error(tau2_dir: Path) -> None:
    with pytest.raises(DataError, match=r"split_tasks\.json: field validation: no such split"):
        select_tasks(tau2_dir / "tasks.json", "validation", None)
