"""``taskforge bench synthesis``: the targeted pipeline against unguided candidates."""

from __future__ import annotations

import json
import random

from typer.testing import CliRunner

from taskforge.cli.app import app
from taskforge.domains import get_domain
from taskforge.synthesis.bench import run_unguided, unguided_blueprint

DOM = get_domain("retail")


def test_bench_reports_both_sides_of_the_same_size() -> None:
    result = CliRunner().invoke(app, ["bench", "synthesis", "--n", "5", "--json"])
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    ours, base = report["taskforge"], report["baseline_unguided"]
    assert ours["candidates"] == base["candidates"] == 20
    assert ours["acceptance_rate"] > base["acceptance_rate"]
    assert report["ratio"]["acceptance_rate"] > 1 and report["llm"] is None
    assert set(ours["families"]) == {
        "multi_order",
        "variant_selection",
        "multi_write",
        "payment_difference",
    }
    assert sum(base["top_rejections"].values()) <= base["candidates"] - base["accepted"]


def test_unguided_candidates_are_random_writes_judged_by_the_same_verifier() -> None:
    db = DOM.load_db()
    rng = random.Random(0)
    blueprints = [bp for bp in (unguided_blueprint(db, rng) for _ in range(30)) if bp]
    tools = {bp.actions[-1][0] for bp in blueprints}
    assert len(tools) >= 4 and all(bp.family == "unguided" for bp in blueprints)
    accepted, reasons = run_unguided(db, DOM.toolkit_cls, 40, 0)
    assert 0 < len(accepted) < 40 and sum(reasons.values()) == 40 - len(accepted)
    assert any("Non-pending order" in r or "Non-delivered" in r for r in reasons)
