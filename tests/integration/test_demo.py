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
AIRLINE_ARGS = ["--tasks", "12", "--trials", "2", "--rounds", "2", "--json"]


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


def test_demo_on_airline_runs_the_same_steps(tmp_path: Path) -> None:
    """``--domain airline``: an Airline DB and seeds, the loop on Airline (its synthesis kit
    targeting the scripted error modes), the three exports, the report; Retail untouched."""
    out = tmp_path / "demo"
    argv = ["demo", "--domain", "airline", "--out", str(out), *AIRLINE_ARGS]
    result = CliRunner().invoke(app, argv)
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    steps, artifacts = report["steps"], report["artifacts"]
    for name, path in artifacts.items():
        assert Path(path).exists(), name
    assert Path(artifacts["db"]).name == "airline_db.json" and steps["db"]["reservations"] > 0
    assert steps["audit"]["n_gold_errors"] == 0
    assert steps["evaluate"] == {"gold_mean_reward": 1.0, "do_nothing_mean_reward": 0.0}
    rounds = steps["loop"]["rounds"]
    assert rounds[0]["episodes"] == 12 * 2 and rounds[0]["failures_by_pattern"]
    assert rounds[0]["tasks_added"] > 0
    patterns = set(get_domain("airline").synthesis_kit().FAMILY_PATTERNS.values())
    pool = load_tasks(artifacts["pool_tasks"])
    assert {t.pattern for t in pool if t.origin == "targeted"} <= patterns
    assert len(pool) == 12 + sum(r["tasks_added"] for r in rounds) == rounds[-1]["pool_size"]
    _check_exports(artifacts, pool, "airline")
    local = CliRunner().invoke(app, ["demo", "--domain", "airline", "--local"])
    assert local.exit_code != 0 and "--local runs on Retail only" in local.stderr


def _check_exports(artifacts: dict[str, str], pool: list, domain: str = "retail") -> None:
    """The HF folder loads offline; the tau2 tasks' gold actions replay to reward 1."""
    datasets = import_datasets()
    loaded = datasets.load_dataset(artifacts["hf_dataset"])
    assert sum(len(split) for split in loaded.values()) == len(pool)
    assert read_manifest(Path(artifacts["hf_dataset"])).pool.name == "demo"
    tau2 = Path(artifacts["tau2_tasks"]) / "tau2" / "domains" / domain
    dom = get_domain(domain)
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
