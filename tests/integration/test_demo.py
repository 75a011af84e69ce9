"""`taskforge demo` as a new user runs it: every artifact it names exists, reruns are idempotent."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from taskforge.cli.app import app
from taskforge.contracts.io import load_tasks
from taskforge.rollout.scripted_policy import ERROR_MODES
from taskforge.warehouse import Warehouse


def test_demo_produces_what_it_promises(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    result = CliRunner().invoke(app, ["demo", "--out", str(out), "--tasks", "16", "--json"])
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    steps = report["steps"]
    rollout = steps["rollout"]
    for path in (
        steps["db"]["path"],
        steps["tasks"]["path"],
        rollout["warehouse"],
        rollout["shard"],
        out / "demo_report.json",
    ):
        assert Path(path).exists(), path
    assert len(load_tasks(steps["tasks"]["path"])) == 16
    assert steps["audit"]["n_gold_errors"] == 0
    assert steps["evaluate"] == {"gold_mean_reward": 1.0, "do_nothing_mean_reward": 0.0}
    assert rollout["episodes_played"] == 64
    pass_k = rollout["pass_k"]
    assert 0.3 <= pass_k["1"] <= 0.95 and pass_k["4"] < pass_k["1"]
    assert set(rollout["error_modes_in_failures"]) <= set(ERROR_MODES)
    mined = steps["mine"]
    assert mined["n_failures"] > 0 and mined["n_patterns"] >= 1 and mined["version"] == 1
    html = Path(mined["report"]).read_text()
    assert html.startswith("<!DOCTYPE html>") and all(p["name"] in html for p in mined["patterns"])
    assert steps["bench"]["speedup"]["evals"] > 1
    assert report["still_to_come"]
    rerun = CliRunner().invoke(app, ["demo", "--out", str(out), "--tasks", "16", "--json"])
    assert rerun.exit_code == 0
    assert json.loads(rerun.stdout)["steps"]["rollout"]["episodes_played"] == 0  # resumed
    with Warehouse.open(out / "taskforge.duckdb", read_only=True) as wh:
        assert wh.counts()["trajectories"] == 64
