"""Targeted tasks provoke their pattern more often than naive tasks from the same DB."""

from __future__ import annotations

from pathlib import Path

from taskforge.contracts.io import load_tasks
from taskforge.env.domains import get_domain
from taskforge.mining.embed import HashingEmbedder
from taskforge.synthesis.synthesize import synthesize
from taskforge.synthesis.targeting import targeting_check

REPO = Path(__file__).resolve().parents[3]


def test_targeted_tasks_raise_their_pattern_rate() -> None:
    dom = get_domain("retail")
    db = dom.load_db()
    families = ["multi_order", "multi_write", "payment_difference"]
    targeted = synthesize(db, dom.toolkit_cls, families, 10, 0, HashingEmbedder()).accepted
    naive = load_tasks(REPO / "datasets" / "retail" / "seed_tasks.json")
    report = targeting_check(targeted, naive, db, dom.toolkit_cls, trials=4, seed=0)
    assert set(report["patterns"]) == {"wrong_order", "early_stop", "skip_confirmation"}
    for pattern, row in report["patterns"].items():
        assert row["episodes"] == 40
        assert row["pattern_rate_targeted"] > 2 * row["pattern_rate_naive"], pattern
        assert row["targeting_precision"] is not None and row["targeting_precision"] > 0
    rates = [row["failure_rate_targeted"] for row in report["patterns"].values()]
    assert max(rates) > report["failure_rate_naive"]
