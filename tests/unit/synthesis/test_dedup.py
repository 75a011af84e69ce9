"""Deduplication and the contamination guard."""

from __future__ import annotations

from pathlib import Path

from taskforge.contracts import Task
from taskforge.contracts.io import load_tasks
from taskforge.domains import get_domain
from taskforge.mining.embed import HashingEmbedder
from taskforge.synthesis.dedup import deduplicate, shared_entities

REPO = Path(__file__).resolve().parents[3]


def _renamed(task: Task, new_id: str) -> Task:
    return task.model_copy(update={"id": new_id})


def test_identical_gold_actions_and_near_duplicate_scenarios_are_dropped() -> None:
    tasks = load_tasks(REPO / "datasets" / "retail" / "seed_tasks.json")[:10]
    same_gold = _renamed(tasks[0], "copy")
    data = tasks[1].model_dump(mode="json", exclude_none=True)
    data["id"] = "reworded"
    data["evaluation_criteria"]["actions"] = data["evaluation_criteria"]["actions"][:-1]
    near = Task.model_validate(data)  # same wording, different gold actions
    result = deduplicate([*tasks, same_gold, near], HashingEmbedder())
    dropped = dict(result.dropped)
    assert set(dropped) == {"copy", "reworded"}
    assert "same gold actions" in dropped["copy"] and "near-duplicate" in dropped["reworded"]
    assert [t.id for t in result.kept] == [t.id for t in tasks]


def test_reference_tasks_are_a_contamination_guard() -> None:
    tasks = load_tasks(REPO / "datasets" / "retail" / "seed_tasks.json")[:5]
    result = deduplicate(tasks[:3], HashingEmbedder(), reference=tasks[2:])
    assert [d[0] for d in result.dropped] == [tasks[2].id]
    assert "test task" in result.dropped[0][1]


def test_shipped_db_is_entity_disjoint_from_tau2(tau2_db: object) -> None:
    shipped = get_domain("retail").load_db()
    assert shared_entities(shipped, tau2_db) == {  # type: ignore[arg-type]
        "user_id": 0,
        "email": 0,
        "order_id": 0,
        "payment_method_id": 0,
        "item_id": 0,
    }
    assert shared_entities(shipped, shipped)["user_id"] == len(shipped.tables["users"])
