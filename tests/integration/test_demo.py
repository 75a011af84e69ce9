"""`taskforge demo` as a new user runs it: every artifact it names exists, reruns are idempotent."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
from typer.testing import CliRunner

from taskforge.cli.app import app
from taskforge.contracts import TerminationReason
from taskforge.contracts.io import load_tasks
from taskforge.domains import get_domain
from taskforge.env.bench import gold_messages
from taskforge.env.evaluator import Evaluator
from taskforge.export import read_manifest
from taskforge.export.hf_schema import import_datasets
from taskforge.warehouse import Warehouse

ARGS = ["--tasks", "16", "--trials", "2", "--rounds", "2", "--json"]


def test_demo_produces_what_it_promises(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    result = CliRunner().invoke(app, ["demo", "--out", str(out), *ARGS])
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    steps, artifacts = report["steps"], report["artifacts"]
    for name, path in artifacts.items():
        assert Path(path).exists(), name
    assert len(load_tasks(artifacts["seed_tasks"])) == 16
    assert steps["audit"]["n_gold_errors"] == 0
    assert steps["evaluate"] == {"gold_mean_reward": 1.0, "do_nothing_mean_reward": 0.0}
    rounds = steps["loop"]["rounds"]
    assert [r["round"] for r in rounds] == [1, 2]
    assert rounds[0]["episodes"] == 16 * 2 and rounds[0]["failures_by_pattern"]
    assert all(r["train"] == "skipped" for r in rounds)
    pool = load_tasks(artifacts["pool_tasks"])
    assert len(pool) == 16 + sum(r["tasks_added"] for r in rounds) == rounds[-1]["pool_size"]
    _check_exports(artifacts, pool)
    html = Path(artifacts["report"]).read_text()
    assert html.startswith("<!DOCTYPE html>") and "Loop rounds" in html
    assert steps["bench"]["speedup"]["evals"] > 1
    with Warehouse.open(artifacts["warehouse"], read_only=True) as wh:
        before = wh.counts()
    rerun = CliRunner().invoke(app, ["demo", "--out", str(out), *ARGS])
    assert rerun.exit_code == 0, rerun.stderr
    assert "already done" in rerun.stderr
    assert json.loads(rerun.stdout)["steps"]["loop"]["rounds"] == rounds
    with Warehouse.open(artifacts["warehouse"], read_only=True) as wh:
        assert wh.counts() == before


def _check_exports(artifacts: dict[str, str], pool: list) -> None:
    """The HF folder loads offline; the tau2 tasks' gold actions replay to reward 1."""
    datasets = import_datasets()
    loaded = datasets.load_dataset(artifacts["hf_dataset"])
    assert sum(len(split) for split in loaded.values()) == len(pool)
    assert read_manifest(Path(artifacts["hf_dataset"])).pool.name == "demo"
    tau2 = Path(artifacts["tau2_tasks"]) / "tau2" / "domains" / "retail"
    dom = get_domain("retail")
    db = dom.load_db(tau2 / "db.json")
    evaluator = Evaluator(dom.toolkit_cls, db)
    exported = load_tasks(tau2 / "tasks.json")
    assert len(exported) == len(pool)
    verl = Path(artifacts["verl_export"])
    rows = sum(pq.read_metadata(f).num_rows for f in verl.glob("*.parquet"))
    assert rows == len(pool) and (verl / "configs" / "agent_loop.yaml").exists()
    stop = TerminationReason.USER_STOP
    for task in exported:
        gold = gold_messages(dom.toolkit_cls, db, task)
        assert evaluator.evaluate(task, gold, stop).reward == 1.0, task.id
