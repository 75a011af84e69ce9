"""Acceptance: targeted tasks provoke their pattern (scripted policy, shipped DB)."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import pytest

from taskforge.contracts import Task
from taskforge.contracts.io import load_tasks
from taskforge.domains import get_domain
from taskforge.domains.retail.blueprints import FAMILY_PATTERNS
from taskforge.mining.embed import HashingEmbedder
from taskforge.synthesis.synthesize import synthesize
from taskforge.synthesis.targeting import SUCCESS, pattern_row, targeting_check

REPO = Path(__file__).resolve().parents[3]
DOM = get_domain("retail")
FAMILIES = ("multi_order", "variant_selection", "multi_write", "payment_difference")


def _naive() -> list[Task]:
    return load_tasks(REPO / "datasets" / "retail" / "seed_tasks.json")


@cache
def _report() -> dict[str, Any]:
    db = DOM.load_db()
    targeted = synthesize(db, DOM.toolkit_cls, FAMILIES, 20, 0, HashingEmbedder()).accepted
    return targeting_check(targeted, _naive(), db, DOM.toolkit_cls, trials=4, seed=0)


@pytest.mark.parametrize("family", FAMILIES)
def test_each_family_fails_twice_as_often_mostly_in_its_pattern(family: str) -> None:
    report = _report()
    row = report["patterns"][FAMILY_PATTERNS[family]]
    print(f"\n{family}: {row}")
    assert row["episodes"] == 80
    assert row["failure_rate_naive"] == report["failure_rate_naive"] > 0
    assert row["failure_ratio"] >= 2.0, row
    assert row["pattern_rate_targeted"] >= 2 * row["pattern_rate_naive"], row
    assert row["targeting_precision_new"] >= 0.7, row
    assert row["targeting_precision"] >= 0.5, row


def test_naive_tasks_labelled_as_targeted_do_not_pass() -> None:
    db = DOM.load_db()
    naive = _naive()
    relabelled = [t.model_copy(update={"pattern": "wrong_order"}) for t in naive[:32]]
    report = targeting_check(relabelled, naive, db, DOM.toolkit_cls, trials=2, seed=0)
    row = report["patterns"]["wrong_order"]
    assert row["failure_ratio"] < 2.0 and row["targeting_precision_new"] < 0.7, row


def test_precision_new_discounts_failures_at_the_naive_rate() -> None:
    naive = ["repeat_call"] * 2 + [SUCCESS] * 8
    targeted = ["repeat_call"] * 2 + ["wrong_order"] * 4 + [SUCCESS] * 4
    row = pattern_row("wrong_order", targeted, naive)
    assert row["targeting_precision"] == round(4 / 6, 3)
    assert row["targeting_precision_new"] == 1.0
    assert row["failure_ratio"] == 3.0
    assert row["mechanisms"] == {"repeat_call": 2, "wrong_order": 4}
    row = pattern_row("early_stop", ["missing_write", "early_stop", SUCCESS], [SUCCESS])
    assert row["targeting_precision"] == 1.0 and row["pattern_rate_targeted"] == round(2 / 3, 3)
