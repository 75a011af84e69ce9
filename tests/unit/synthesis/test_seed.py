"""Tests of the naive seed-task sampler and of ``taskforge tasks seed``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from taskforge.cli.app import app
from taskforge.contracts import Message, Task, TerminationReason
from taskforge.contracts.io import load_tasks
from taskforge.domains import get_domain
from taskforge.domains.retail import RetailTools
from taskforge.domains.retail.seed import INFO_KIND, SEED_KINDS, task_kind
from taskforge.env.audit import audit_task
from taskforge.env.bench import gold_messages
from taskforge.env.db import Database
from taskforge.env.evaluator import Evaluator
from taskforge.synthesis import sample_seed_tasks

REPO = Path(__file__).resolve().parents[3]
SHIPPED_DB = REPO / "datasets" / "retail" / "db.json"
TAU2_DB = REPO.parent / "shared" / "tau2-retail" / "db.json"
STOP = TerminationReason.USER_STOP
N = 24


def _db_path() -> Path:
    for path in (SHIPPED_DB, TAU2_DB):
        if path.exists():
            return path
    pytest.skip(f"no Retail DB: neither {SHIPPED_DB} nor {TAU2_DB} exists")


@pytest.fixture(scope="module")
def db() -> Database:
    return get_domain("retail").load_db(_db_path())


@pytest.fixture(scope="module")
def tasks(db: Database) -> list[Task]:
    return sample_seed_tasks(db, N, seed=7)


def _dump(tasks: list[Task]) -> str:
    return json.dumps([t.model_dump(mode="json", exclude_none=True) for t in tasks], indent=2)


def _order_of(task: Task) -> str | None:
    return task.gold_actions()[-1].arguments.get("order_id")


def test_ids_origin_lineage(tasks: list[Task]) -> None:
    assert [t.id for t in tasks] == [f"seed_{i:03d}" for i in range(N)]
    for task in tasks:
        assert task.origin == "seed"
        assert task.lineage is not None and task.lineage.generator == "naive-seed-v1"
        assert task.description is not None and task.description.purpose
        instructions = task.user_scenario.instructions
        assert not isinstance(instructions, str)
        assert instructions.domain == "retail" and instructions.known_info


def test_gold_replays_without_error_and_changes_db(db: Database, tasks: list[Task]) -> None:
    for task in tasks:
        audit = audit_task(RetailTools, db, task)
        assert audit.gold_errors == [], task.id
        assert audit.db_changed == (task_kind(task) != INFO_KIND), task.id


def test_round_robin_covers_every_kind(db: Database) -> None:
    kinds = [task_kind(t) for t in sample_seed_tasks(db, 8, seed=3)]
    assert kinds == list(SEED_KINDS)


def test_known_info_alternates_between_email_and_name_zip(tasks: list[Task]) -> None:
    lookups = {t.gold_actions()[0].name for t in tasks}
    assert lookups == {"find_user_id_by_email", "find_user_id_by_name_zip"}


def test_reason_names_items_not_item_ids(tasks: list[Task]) -> None:
    for task in tasks:
        instructions = task.user_scenario.instructions
        assert not isinstance(instructions, str)
        for action in task.gold_actions():
            for item_id in action.arguments.get("item_ids", []):
                assert item_id not in instructions.reason_for_call


def test_gold_scores_one_and_nothing_scores_zero(db: Database, tasks: list[Task]) -> None:
    evaluator = Evaluator(RetailTools, db)
    idle = [
        Message(role="assistant", content="Hi! How can I help you today?"),
        Message(role="user", content="###STOP###"),
    ]
    for task in tasks:
        gold = gold_messages(RetailTools, db, task)
        info = (task.evaluation_criteria.communicate_info or []) if task.evaluation_criteria else []
        told = [Message(role="assistant", content=f"That is ${text}.") for text in info]
        assert evaluator.evaluate(task, gold[:-1] + told + gold[-1:], STOP).reward == 1.0
        assert evaluator.evaluate(task, idle, STOP).reward == 0.0, task.id
        if info:  # the reads alone, without telling the user, score 0
            assert task_kind(task) == INFO_KIND
            reads_only = [m for m in gold if m.tool_calls or m.role != "assistant"]
            assert evaluator.evaluate(task, reads_only, STOP).reward == 0.0


def test_no_two_tasks_touch_the_same_order(tasks: list[Task]) -> None:
    orders = [o for o in map(_order_of, tasks) if o is not None]
    assert len(orders) == len(set(orders))


def test_deterministic(db: Database, tasks: list[Task]) -> None:
    assert _dump(sample_seed_tasks(db, N, seed=7)) == _dump(tasks)
    assert _dump(sample_seed_tasks(db, N, seed=8)) != _dump(tasks)


def test_prefix_and_negative_n(db: Database) -> None:
    assert [t.id for t in sample_seed_tasks(db, 2, seed=1, prefix="x")] == ["x_000", "x_001"]
    assert sample_seed_tasks(db, 0, seed=1) == []
    with pytest.raises(ValueError):
        sample_seed_tasks(db, -1, seed=1)


def test_cli_seed_writes_loadable_identical_files(tmp_path: Path) -> None:
    db_path = _db_path()
    runner = CliRunner()
    outs = [tmp_path / "a" / "seed.json", tmp_path / "b.json"]
    for out in outs:
        args = ["tasks", "seed", "--db", str(db_path), "--n", "9", "--seed", "5", "--out", str(out)]
        result = runner.invoke(app, [*args, "--json"])
        assert result.exit_code == 0, result.output
    assert outs[0].read_bytes() == outs[1].read_bytes()
    loaded = load_tasks(outs[0])
    assert len(loaded) == 9 and loaded[0].id == "seed_000"
    assert json.loads(result.stdout)["n_tasks"] == 9
    assert not list(outs[0].parent.glob(".*.tmp"))


def test_cli_seed_missing_db_is_one_line_error(tmp_path: Path) -> None:
    args = ["tasks", "seed", "--db", str(tmp_path / "nope.json"), "--out", str(tmp_path / "o")]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2
    assert not (tmp_path / "o").exists()
