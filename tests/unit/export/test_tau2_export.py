"""tau2 export: tau2's layout and task shape, gold replay to reward 1, determinism."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from taskforge.contracts import Task, TaskPool, TerminationReason
from taskforge.contracts.io import load_tasks
from taskforge.domains import get_domain
from taskforge.env.audit import audit_task
from taskforge.env.bench import gold_messages
from taskforge.env.db import Database
from taskforge.env.evaluator import Evaluator
from taskforge.errors import DataError
from taskforge.export import export_tau2, read_manifest
from taskforge.export.manifest import file_hashes

Union = tuple[TaskPool, list[Task]]
ROOT = Path("tau2") / "domains" / "retail"
TASKFORGE_ONLY = {"origin", "pattern", "lineage", "certificate", "schema_version"}
TAU2_DEFAULTS = {"action": {"requestor"}}
"""Fields of tau2's models that tau2's own Retail tasks leave at their default (tau2's
data_model/tasks.py: Action.requestor, default 'assistant')."""


def _keys(tasks: list[dict[str, Any]]) -> dict[str, set[str]]:
    """Keys at each level of tau2's task JSON."""
    out: dict[str, set[str]] = {"task": set(), "scenario": set(), "instructions": set()}
    out |= {"criteria": set(), "action": set()}
    for t in tasks:
        out["task"] |= set(t)
        out["scenario"] |= set(t["user_scenario"])
        if isinstance(t["user_scenario"].get("instructions"), dict):
            out["instructions"] |= set(t["user_scenario"]["instructions"])
        criteria = t.get("evaluation_criteria") or {}
        out["criteria"] |= set(criteria)
        for action in criteria.get("actions") or []:
            out["action"] |= set(action)
    return out


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory, union: Union, bundled_db: Database) -> Path:
    out = tmp_path_factory.mktemp("tau2") / "pool"
    export_tau2(*union, bundled_db, out, command="taskforge export tau2 --pool demo")
    return out


def test_tasks_have_tau2s_shape_and_validate_against_our_contract(
    exported: Path, union: Union, tau2_dir: Path
) -> None:
    raw = json.loads((exported / ROOT / "tasks.json").read_text())
    theirs = _keys(json.loads((tau2_dir / "tasks.json").read_text()))
    ours = _keys(raw)
    for level, keys in ours.items():
        allowed = theirs[level] | TAU2_DEFAULTS.get(level, set())
        assert keys <= allowed, (level, keys - allowed)
    assert not ours["task"] & TASKFORGE_ONLY
    pool, tasks = union
    loaded = load_tasks(exported / ROOT / "tasks.json")
    assert [t.id for t in loaded] == [t.id for t in tasks]
    for mine, back in zip(tasks, loaded, strict=True):
        assert back == mine.model_copy(
            update={f: None for f in TASKFORGE_ONLY - {"schema_version"}}
        )
    assert len(tasks) == len(pool.active())


def test_split_file_has_tau2s_layout(exported: Path, union: Union, tau2_dir: Path) -> None:
    splits = json.loads((exported / ROOT / "split_tasks.json").read_text())
    theirs = json.loads((tau2_dir / "split_tasks.json").read_text())
    assert set(theirs) == {"train", "test", "base"} == set(splits)
    assert all(isinstance(i, str) for ids in splits.values() for i in ids)
    assert splits["base"] == [t.id for t in union[1]]
    assert sorted(splits["train"] + splits["test"]) == sorted(splits["base"])
    assert not set(splits["train"]) & set(splits["test"])


def test_gold_actions_replay_to_reward_1_on_the_exported_db(exported: Path) -> None:
    dom = get_domain("retail")
    db = dom.load_db(exported / ROOT / "db.json")
    assert db.hash == read_manifest(exported).extra["db_hash"]
    evaluator = Evaluator(dom.toolkit_cls, db)
    tasks = load_tasks(exported / ROOT / "tasks.json")
    for task in tasks:
        audit = audit_task(dom.toolkit_cls, db, task)
        assert not audit.gold_errors and audit.db_changed, task.id
        gold = gold_messages(dom.toolkit_cls, db, task)
        assert evaluator.evaluate(task, gold, TerminationReason.USER_STOP).reward == 1.0, task.id


def test_export_twice_is_byte_identical(
    tmp_path: Path, exported: Path, union: Union, bundled_db: Database
) -> None:
    again = tmp_path / "pool"
    export_tau2(*union, bundled_db, again, command="taskforge export tau2 --pool demo")
    files = sorted(p.relative_to(exported) for p in exported.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(again) for p in again.rglob("*") if p.is_file())
    assert all((exported / f).read_bytes() == (again / f).read_bytes() for f in files)


def test_manifest_readme_and_policy(exported: Path, union: Union) -> None:
    manifest = read_manifest(exported)
    assert manifest.exporter == "tau2" and manifest.pool == union[0]
    assert manifest.files == file_hashes(exported)
    assert manifest.command == "taskforge export tau2 --pool demo"
    assert (exported / ROOT / "policy.md").read_text() == get_domain("retail").policy
    assert (
        'TAU2_DATA_DIR="$PWD/pool" tau2 run --domain retail' in (exported / "README.md").read_text()
    )


def test_base_is_reserved_and_policy_can_be_replaced(
    tmp_path: Path, union: Union, bundled_db: Database
) -> None:
    with pytest.raises(DataError, match="reserved"):
        export_tau2(*union, bundled_db, tmp_path / "x", {"base": 1.0})
    out = export_tau2(*union, bundled_db, tmp_path / "y", {"all": 1.0}, policy="# policy\n").out
    assert (out / ROOT / "policy.md").read_text() == "# policy\n"
    splits = json.loads((out / ROOT / "split_tasks.json").read_text())
    assert splits["all"] == splits["base"]


def test_tau2s_own_tasks_come_back_unchanged(
    tmp_path: Path, tau2_dir: Path, tau2_db: Database
) -> None:
    from taskforge.pool import pool_from_tasks

    tasks = load_tasks(tau2_dir / "tasks.json")
    out = export_tau2(pool_from_tasks("tau2", 0, tasks), tasks, tau2_db, tmp_path / "t").out
    original = {t["id"]: t for t in json.loads((tau2_dir / "tasks.json").read_text())}
    exported = json.loads((out / ROOT / "tasks.json").read_text())
    assert {t["id"]: t for t in exported} == original
    splits = json.loads((out / ROOT / "split_tasks.json").read_text())
    assert sorted(splits["base"]) == sorted(original) and len(splits["test"]) > 0
