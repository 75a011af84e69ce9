"""Evaluation on Airline: gold replay of tau2's 50 tasks, and agreement with tau2's rewards."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from taskforge.cli.app import app
from taskforge.contracts import Message, TerminationReason
from taskforge.contracts.io import load_tasks
from taskforge.domains import Domain
from taskforge.env.bench import gold_messages
from taskforge.env.db import Database
from taskforge.env.evaluator import Evaluator

runner = CliRunner()
RESULTS = "results/gpt-4.1_airline_test_1trial.json"


def _json(*args: str) -> dict:  # type: ignore[type-arg]
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.stdout
    data: dict = json.loads(result.stdout)  # type: ignore[type-arg]
    return data


def test_audit_replays_all_50_gold_sequences_without_error(airline_dir: Path) -> None:
    report = _json(
        "tasks", "audit", str(airline_dir / "tasks.json"),
        "--db", str(airline_dir / "db.json"), "--domain", "airline", "--json",
    )  # fmt: skip
    summary = report["summary"]
    assert summary["n_tasks"] == 50 and summary["n_gold_errors"] == 0
    # 24 tasks expect the agent to change nothing (refusals, reads, transfers)
    assert summary["n_tasks_db_unchanged"] == 24


def test_eval_agrees_with_tau2_on_all_20_simulations(airline_dir: Path) -> None:
    report = _json(
        "eval", "tau2-results", str(airline_dir / RESULTS),
        "--db", str(airline_dir / "db.json"), "--domain", "airline", "--json",
    )  # fmt: skip
    summary = report["summary"]
    assert summary["n"] == 20 and summary["agree"] == 20 and summary["reward_agree"] == 20
    assert sum(r["recorded_reward"] for r in report["simulations"]) == 10  # half succeeded


def test_gold_scores_1_and_doing_nothing_scores_0(
    airline_dir: Path, airline: Domain, airline_db: Database
) -> None:
    tasks = load_tasks(airline_dir / "tasks.json")
    evaluator, stop = Evaluator(airline.toolkit_cls, airline_db), TerminationReason.USER_STOP
    idle = [
        Message(role="assistant", content="Goodbye."),
        Message(role="user", content="###STOP###"),
    ]
    writes = {n for n, s in airline.toolkit_cls.specs.items() if s.mutates}
    for task in tasks:
        gold = gold_messages(airline.toolkit_cls, airline_db, task)
        assert evaluator.evaluate(task, gold, stop).reward == 1.0, task.id
        changes = any(a.name in writes for a in task.gold_actions())
        nothing = evaluator.evaluate(task, idle, stop)
        assert nothing.db_check is not None
        assert nothing.db_check.db_match is not changes, task.id
