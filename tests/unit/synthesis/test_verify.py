"""The verifier certifies feasible, well-posed tasks and rejects the rest with reasons."""

from __future__ import annotations

from pathlib import Path

import pytest

from taskforge.contracts import Task
from taskforge.contracts.io import load_tasks
from taskforge.domains import get_domain
from taskforge.synthesis.verify import verify_task

REPO = Path(__file__).resolve().parents[3]
DOM = get_domain("retail")


@pytest.fixture(scope="module")
def seed_tasks() -> list[Task]:
    return load_tasks(REPO / "datasets" / "retail" / "seed_tasks.json")


def test_seed_tasks_are_certified(seed_tasks: list[Task]) -> None:
    db = DOM.load_db()
    for task in seed_tasks:
        verdict = verify_task(task, DOM.toolkit_cls, db)
        assert verdict.accepted, (task.id, verdict.reasons)
        cert = verdict.certificate
        assert cert is not None and cert.gold_replay_ok and cert.targets_identified
        assert cert.noop_reward == 0.0 and cert.db_hash == db.hash


def _edit(task: Task, **changes: object) -> Task:
    data = task.model_dump(mode="json", exclude_none=True)
    for path, value in changes.items():
        node = data
        *parents, leaf = path.split("__")
        for key in parents:
            node = node[int(key)] if key.isdigit() else node[key]
        node[leaf] = value
    return Task.model_validate(data)


def test_defects_are_rejected_with_reasons(seed_tasks: list[Task]) -> None:
    db = DOM.load_db()

    def pending_orders(task: Task) -> int:
        order = db.tables["orders"][task.gold_actions()[-1].arguments["order_id"]]
        user = db.tables["users"][order["user_id"]]
        return sum(db.tables["orders"][o]["status"] == "pending" for o in user["orders"])

    task = next(
        t
        for t in seed_tasks
        if t.gold_actions()[-1].name == "cancel_pending_order" and pending_orders(t) > 1
    )
    last = len(task.gold_actions()) - 1
    cases = {
        "fails": _edit(task, **{f"evaluation_criteria__actions__{last}__arguments__reason": "meh"}),
        "anonymous": _edit(task, user_scenario__instructions__known_info="You forgot everything."),
        "no_order": _edit(task, user_scenario__instructions__reason_for_call="Cancel something."),
        "noop": _edit(task, evaluation_criteria__actions=[]),
    }
    reasons = {k: verify_task(t, DOM.toolkit_cls, db).reasons for k, t in cases.items()}
    assert any("Invalid reason" in r for r in reasons["fails"])
    assert any("identity of" in r for r in reasons["anonymous"])
    assert any("not determined by the scenario" in r for r in reasons["no_order"])
    assert any("change nothing" in r for r in reasons["noop"])
    assert all(verify_task(t, DOM.toolkit_cls, db).certificate is None for t in cases.values())


def test_tau2_write_defects_are_rejected(tau2_dir: Path, tau2_db: object) -> None:
    tasks = {t.id: t for t in load_tasks(tau2_dir / "tasks.json")}
    for task_id in ("64", "105"):
        verdict = verify_task(tasks[task_id], DOM.toolkit_cls, tau2_db)  # type: ignore[arg-type]
        assert not verdict.accepted and any("fails" in r or "Error" in r for r in verdict.reasons)
    assert verify_task(tasks["0"], DOM.toolkit_cls, tau2_db).accepted  # type: ignore[arg-type]
