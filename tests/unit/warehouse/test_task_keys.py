"""Task keys are normalised: the same task with and without nulls and defaults is one task.

tau2's own tasks.json and the tasks a tau2 1.0.1 results file embeds differ only so; a pool
made from the tasks file must get the results file's pass rates. Warehouses keyed the old way
are re-keyed by migration 6.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from taskforge.contracts import Task
from taskforge.contracts.io import load_tasks
from taskforge.pool import build_pool
from taskforge.warehouse import Warehouse, get_adapter, ingest_paths
from taskforge.warehouse.keys import content_key
from taskforge.warehouse.rows import task_uid
from taskforge.warehouse.schema import SCHEMA_VERSION
from tests.unit.warehouse.conftest import downgrade


def test_nulls_and_defaults_do_not_change_the_key() -> None:
    task = load_tasks(Path("datasets/retail/seed_tasks.json"))[0]
    data = task.to_json_dict()
    absent = [k for k in ("ticket", "issues", "required_documents", "lineage") if k not in data]
    assert absent
    noisy = Task.model_validate({**data, **dict.fromkeys(absent)})
    assert task_uid(noisy, "retail") == task_uid(task, "retail")
    changed = Task.model_validate({**data, "ticket": "another ticket"})
    assert task_uid(changed, "retail") != task_uid(task, "retail")


@pytest.mark.shared
def test_a_results_files_pass_rates_reach_a_pool_of_tau2s_tasks(
    tau2_dir: Path, tau2_sample: Path, tmp_path: Path
) -> None:
    wh_path = tmp_path / "wh.duckdb"
    ingest_paths(wh_path, get_adapter("tau2"), [tau2_sample])
    played = {s["task_id"] for s in json.loads(tau2_sample.read_text())["simulations"]}
    tasks = [t for t in load_tasks(tau2_dir / "tasks.json") if t.id in played]
    with Warehouse.open(wh_path) as wh:
        pool = build_pool(wh, "tau2", 1, tasks, domain="retail")
    assert len(pool.entries) == len(played) == 8
    assert all(e.n_trials == 1 and e.pass_rate == 1.0 for e in pool.entries)


def test_migration_6_rekeys_old_rows_and_merges_what_now_coincides(tmp_path: Path) -> None:
    path = tmp_path / "wh.duckdb"
    task = load_tasks(Path("datasets/retail/seed_tasks.json"))[0]
    with Warehouse.open(path) as wh:
        build_pool(wh, "p", 1, [task], domain="retail")
    new = task_uid(task, "retail")
    old = content_key("task", "retail", {**task.to_json_dict(), "ticket": None})  # v5's key
    con = downgrade(path, 5)
    for table in ("tasks", "task_pools"):
        con.execute(f"UPDATE {table} SET task_uid = ? WHERE task_uid = ?", [old, new])
    con.execute("INSERT INTO run_tasks VALUES ('run-a', ?, ?)", [task.id, old])
    con.close()
    with Warehouse.open(path) as wh:
        assert wh.scalar("SELECT max(version) FROM schema_version") == SCHEMA_VERSION
        uids = {t: wh.query(f"SELECT DISTINCT task_uid FROM {t}")["task_uid"].to_list()
                for t in ("tasks", "task_pools", "run_tasks")}  # fmt: skip
        assert wh.scalar("SELECT count(*) FROM tasks") == 1
    assert uids == {"tasks": [new], "task_pools": [new], "run_tasks": [new]}
