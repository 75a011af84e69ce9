"""``taskforge verify`` from a stored file alone; one changed gold argument is rejected with the
reason; verdicts land in the warehouse; tasks keep tau2's JSON shape and score 1 on gold."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from taskforge.cli.app import app
from taskforge.contracts import Message, Task, TerminationReason
from taskforge.contracts.io import load_tasks
from taskforge.domains import get_domain
from taskforge.env.bench import gold_messages
from taskforge.env.evaluator import Evaluator
from taskforge.warehouse import Warehouse

DOM = get_domain("retail")
TAU2_TASK_FIELDS = {
    "id",
    "description",
    "user_scenario",
    "ticket",
    "initial_state",
    "evaluation_criteria",
    "issues",
    "required_documents",
    "user_tools",
}
TAU2_INSTRUCTION_FIELDS = {
    "domain",
    "reason_for_call",
    "known_info",
    "unknown_info",
    "task_instructions",
}
TASKFORGE_FIELDS = {"origin", "pattern", "lineage", "certificate", "schema_version"}


def _invoke(*args: str) -> Any:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("synth") / "targeted.json"
    _invoke("synthesize", "--all", "--n", "4", "--embedder", "hashing", "--out", str(out), "--json")
    return out


def _writes(task: Task) -> list[Any]:
    return [a for a in task.gold_actions() if DOM.toolkit_cls.specs[a.name].mutates]


def _with_argument(task: Task, index: int, key: str, value: Any) -> Task:
    data = task.model_dump(mode="json", exclude_none=True)
    actions = data["evaluation_criteria"]["actions"]
    target = [a for a in actions if DOM.toolkit_cls.specs[a["name"]].mutates][index]
    target["arguments"][key] = value
    return Task.model_validate(data)


def _other_method(task: Task) -> Any:
    """The order's original payment method in place of the gift card the user insisted on."""
    db = DOM.load_db()
    write = _writes(task)[-1]
    order = db.tables["orders"][write.arguments["order_id"]]
    return order["payment_history"][0]["payment_method_id"]


def _near_variant(task: Task) -> Any:
    """Another available variant of the swapped item's product (the near miss first)."""
    db = DOM.load_db()
    write = _writes(task)[-1]
    order = db.tables["orders"][write.arguments["order_id"]]
    old = next(i for i in order["items"] if i["item_id"] == write.arguments["item_ids"][0])
    variants = db.tables["products"][old["product_id"]]["variants"]
    new = variants[write.arguments["new_item_ids"][0]]
    others = [
        v
        for v in variants.values()
        if v["available"] and v["item_id"] not in (new["item_id"], old["item_id"])
    ]
    others.sort(key=lambda v: sum(v["options"][k] != new["options"][k] for k in new["options"]))
    return [others[0]["item_id"]]


def _other_candidate(task: Task) -> Any:
    """Another of the user's orders the write could act on (sharing a product)."""
    db = DOM.load_db()
    write = _writes(task)[-1]
    order = db.tables["orders"][write.arguments["order_id"]]
    user = db.tables["users"][order["user_id"]]
    return next(
        o
        for o in user["orders"]
        if o != order["order_id"] and "pending" in db.tables["orders"][o]["status"]
    )


MUTATIONS = {
    "skip_confirmation": ("payment_method_id", _other_method, "payment method"),
    "wrong_variant": ("new_item_ids", _near_variant, "option"),
    "wrong_order": ("order_id", _other_candidate, "not determined by the scenario"),
    "early_stop": ("order_id", lambda t: "#W0000000", "Order not found"),
}


def test_stored_tasks_verify_from_the_file_alone(stored: Path, tmp_path: Path) -> None:
    tasks = load_tasks(stored)
    assert {t.pattern for t in tasks} == set(MUTATIONS) and all(t.certificate for t in tasks)
    wh = tmp_path / "w.duckdb"
    report = _invoke("verify", str(stored), "--json", "--warehouse", str(wh))
    assert report["summary"]["n_accepted"] == report["summary"]["n_tasks"] == len(tasks)
    assert report["summary"]["stored"] == len(tasks)
    stored_certs = {t.id: t.certificate for t in tasks}
    for row in report["tasks"]:
        assert row["certificate"] == stored_certs[row["task_id"]].model_dump(mode="json")
    alias = _invoke("tasks", "verify", str(stored), "--json")
    assert [r["task_id"] for r in alias["tasks"]] == [r["task_id"] for r in report["tasks"]]
    with Warehouse.open(wh, read_only=True) as w:
        rows = w.query("SELECT accepted, verifier_version FROM verifications").to_dicts()
    assert len(rows) == len(tasks) and all(r["accepted"] for r in rows)


@pytest.mark.parametrize("pattern", sorted(MUTATIONS))
def test_one_changed_gold_argument_is_rejected_with_the_reason(
    stored: Path, tmp_path: Path, pattern: str
) -> None:
    key, value, why = MUTATIONS[pattern]
    task = next(t for t in load_tasks(stored) if t.pattern == pattern)
    broken = _with_argument(task, -1, key, value(task))
    path = tmp_path / "broken.json"
    path.write_text(json.dumps([broken.model_dump(mode="json", exclude_none=True)]))
    wh, rejected = tmp_path / "w.duckdb", tmp_path / "rejected.json"
    args = ("verify", str(path), "--json", "--warehouse", str(wh), "--rejected", str(rejected))
    report = _invoke(*args)
    [row] = report["tasks"]
    assert row["accepted"] is False and any(why in r for r in row["reasons"]), row
    [kept] = load_tasks(rejected)
    assert kept.issues and any(why in i.title for i in kept.issues)
    with Warehouse.open(wh, read_only=True) as w:
        [stored_row] = w.query("SELECT accepted, reason FROM verifications").to_dicts()
    assert stored_row["accepted"] is False and why in stored_row["reason"]
    _invoke(*args)  # storing the same verdict again adds nothing
    with Warehouse.open(wh, read_only=True) as w:
        assert w.query("SELECT count(*) AS n FROM verifications").item() == 1


def test_tasks_keep_tau2_shape_and_score_1_on_their_gold(stored: Path) -> None:
    db = DOM.load_db()
    evaluator = Evaluator(DOM.toolkit_cls, db)
    for task in load_tasks(stored):
        data = task.model_dump(mode="json", exclude_none=True)
        assert set(data) - TASKFORGE_FIELDS <= TAU2_TASK_FIELDS
        assert set(data["user_scenario"]["instructions"]) <= TAU2_INSTRUCTION_FIELDS
        for action in data["evaluation_criteria"]["actions"]:
            assert {"action_id", "name", "arguments"} <= set(action)
        gold = gold_messages(DOM.toolkit_cls, db, task)
        assert evaluator.evaluate(task, gold, TerminationReason.USER_STOP).reward == 1.0
        greeting = [Message(role="assistant", content="Hi! How can I help you today?")]
        assert evaluator.evaluate(task, greeting, TerminationReason.USER_STOP).reward == 0.0


def test_synthesize_keeps_rejected_candidates(tmp_path: Path) -> None:
    out, rejected, wh = tmp_path / "t.json", tmp_path / "r.json", tmp_path / "w.duckdb"
    args = ["synthesize", "--pattern", "wrong_order", "--n", "6", "--embedder", "hashing"]
    args += ["--out", str(out), "--rejected", str(rejected), "--warehouse", str(wh), "--json"]
    args += ["--reference-tasks", str(out)]  # after a first run, every task is a duplicate
    _invoke(*args[:-3], "--json")
    report = _invoke(*args)
    assert report["families"] == {
        "multi_order": {"sampled": 6, "accepted": 0, "acceptance_rate": 0.0}
    }
    kept = load_tasks(rejected)
    assert len(kept) == 6 and all(i.id.startswith("dedup") for t in kept for i in t.issues or [])
    with Warehouse.open(wh, read_only=True) as w:
        rows = w.query(
            "SELECT verifier_version, accepted FROM verifications ORDER BY verifier_version"
        ).to_dicts()
    assert {(r["verifier_version"], r["accepted"]) for r in rows} == {
        ("dedup-v1", False),
        ("verify-v2", True),
    }
