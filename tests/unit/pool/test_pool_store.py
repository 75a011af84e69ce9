"""Pools in the warehouse: idempotent builds, adding to a round, RAFT's union, loading back,
and the schema v1 -> v2 upgrade that made room for them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from taskforge.contracts import Curriculum, Task
from taskforge.errors import DataError
from taskforge.pool import build_pool, list_pools, load_pool, pool_from_tasks, union_pool
from taskforge.warehouse import Warehouse
from taskforge.warehouse.rows import task_uid
from taskforge.warehouse.schema import SCHEMA_VERSION
from tests.unit.warehouse.conftest import downgrade


def _snapshot(wh: Warehouse) -> tuple[Any, ...]:
    pools = wh.con.execute("SELECT * FROM task_pools ORDER BY ALL").fetchall()
    rounds = wh.con.execute("SELECT * FROM pool_rounds ORDER BY ALL").fetchall()
    tasks = wh.con.execute("SELECT task_uid, task FROM tasks ORDER BY ALL").fetchall()
    return pools, rounds, tasks


def test_building_a_round_twice_changes_nothing(tmp_path: Path, targeted: list[Task]) -> None:
    with Warehouse.open(tmp_path / "w.duckdb") as wh:
        first = build_pool(wh, "p", 1, targeted, command="taskforge pool add ...")
        before = _snapshot(wh)
        assert wh.counts()["task_pools"] == wh.counts()["tasks"] == len(targeted)
        again = build_pool(wh, "p", 1, targeted, command="taskforge pool add ... (again)")
        assert _snapshot(wh) == before
    assert again.entries == first.entries
    assert again.commands == ["taskforge pool add ..."]
    assert again.created_at == first.created_at


def test_adding_to_a_round_merges_and_keeps_first_added_time(
    tmp_path: Path, targeted: list[Task]
) -> None:
    half = len(targeted) // 2
    with Warehouse.open(tmp_path / "w.duckdb") as wh:
        build_pool(wh, "p", 1, targeted[:half], config={"task_files": ["a.json"]}, command="c1")
        added = dict(wh.con.execute("SELECT task_uid, added_at FROM task_pools").fetchall())
        pool = build_pool(
            wh, "p", 1, targeted[half:], config={"task_files": ["b.json"]}, command="c2"
        )
        assert len(pool.entries) == len(targeted)
        assert pool.config == {"task_files": ["a.json", "b.json"]}
        assert pool.commands == ["c1", "c2"]
        now = dict(wh.con.execute("SELECT task_uid, added_at FROM task_pools").fetchall())
        assert all(now[uid] == at for uid, at in added.items())
        # the round alone (no new tasks) rebuilds to the same thing
        assert build_pool(wh, "p", 1).entries == pool.entries


def test_entries_carry_lineage_and_load_back(tmp_path: Path, targeted: list[Task]) -> None:
    with Warehouse.open(tmp_path / "w.duckdb") as wh:
        built = build_pool(wh, "p", 3, targeted)
        pool, tasks = load_pool(wh, "p")
    assert pool.round == 3 and pool.entries == built.entries
    by_uid = {task_uid(t, "retail"): t for t in targeted}
    assert [by_uid[e.task_uid] for e in pool.entries] == tasks
    entry = pool.entries[0]
    task = by_uid[entry.task_uid]
    assert (entry.task_id, entry.pattern, entry.origin) == (task.id, task.pattern, "targeted")
    assert task.lineage is not None and entry.generator == task.lineage.generator
    assert entry.has_certificate and entry.round == 3 and entry.pass_rate is None
    assert pool.summary()["certificate_coverage"] == 1.0


def test_union_of_two_rounds_keeps_each_task_at_its_first_round(
    tmp_path: Path, targeted: list[Task]
) -> None:
    r1, r2 = targeted[:8], targeted[6:]  # two tasks in both rounds
    with Warehouse.open(tmp_path / "w.duckdb") as wh:
        build_pool(wh, "p", 1, r1)
        build_pool(wh, "p", 2, r2, mode="raft-union")
        union, tasks = union_pool(wh, "p")
        only_first, _ = union_pool(wh, "p", 1)
        round2, round2_tasks = load_pool(wh, "p", 2)
        rows = list_pools(wh)
    assert union.mode == "raft-union" and union.round == 2
    assert len(union.entries) == len(tasks) == len(targeted)
    assert union.summary()["by_round"] == {"1": 8, "2": len(targeted) - 8}
    assert union.config == {"rounds": [1, 2]}
    assert len(only_first.entries) == 8
    assert len(round2.entries) == len(round2_tasks) == len(r2)
    assert [(r["pool"], r["round"], r["mode"]) for r in rows] == [
        ("p", 1, "on-policy"),
        ("p", 2, "raft-union"),
    ]


def test_a_loop_round_with_no_accepted_task_carries_the_union_on(
    tmp_path: Path, targeted: list[Task]
) -> None:
    with Warehouse.open(tmp_path / "w.duckdb") as wh:
        build_pool(wh, "p", 1, targeted[:4], mode="raft-union")
        empty = build_pool(wh, "p", 2, [], allow_empty=True)
        union, tasks = union_pool(wh, "p", 2)
    assert empty.entries == [] and empty.mode == "raft-union"
    assert union.round == 2 and len(union.entries) == len(tasks) == 4


def test_union_applies_the_last_rounds_curriculum_to_every_round(
    tmp_path: Path, targeted: list[Task]
) -> None:
    with Warehouse.open(tmp_path / "w.duckdb") as wh:
        build_pool(wh, "p", 1, targeted[:8])
        build_pool(wh, "p", 2, targeted[8:], Curriculum(quotas={"*": 1}))
        union, tasks = union_pool(wh, "p")
    patterns = [e.pattern for e in union.active()]
    assert len(patterns) == len(set(patterns)) == len({t.pattern for t in targeted})
    assert len(tasks) == len(patterns)


def test_missing_pool_and_empty_round_are_one_line_errors(
    tmp_path: Path, targeted: list[Task]
) -> None:
    with Warehouse.open(tmp_path / "w.duckdb") as wh:
        with pytest.raises(DataError, match="no pool 'p'"):
            load_pool(wh, "p")
        with pytest.raises(DataError, match="no tasks"):
            build_pool(wh, "p", 1, [])
        build_pool(wh, "p", 1, targeted[:2])
        with pytest.raises(DataError, match="has no round 5"):
            load_pool(wh, "p", 5)


def test_pool_from_tasks_needs_no_warehouse(targeted: list[Task]) -> None:
    pool = pool_from_tasks(
        "file", 0, [*targeted, targeted[0]], curriculum=Curriculum(quotas={"*": 2})
    )
    assert len(pool.entries) == len(targeted)  # the duplicate collapses
    counts = pool.summary()["by_pattern"]
    assert counts and all(n == 2 for n in counts.values())


def test_version_1_warehouse_is_upgraded_and_keeps_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    Warehouse.open(path).close()
    con = downgrade(path, 1)  # turn it back into a v1 file, with a v1 pool row
    con.execute("INSERT INTO task_pools VALUES ('old', 0, 'task-x', now())")
    con.close()
    with Warehouse.open(path) as wh:
        assert wh.scalar("SELECT max(version) FROM schema_version") == SCHEMA_VERSION
        cols = [r[0] for r in wh.con.execute("DESCRIBE task_pools").fetchall()]
        assert cols[-5:] == ["pattern", "status", "reason", "pass_rate", "n_trials"]
        assert wh.con.execute("SELECT pool, status FROM task_pools").fetchall() == [("old", None)]
        assert wh.counts()["pool_rounds"] == 0 and wh.counts()["loop_stages"] == 0
        assert list_pools(wh)[0]["n_active"] == 1  # a v1 row counts as active


def test_a_new_round_carries_over_the_previous_rounds_settings(
    tmp_path: Path, targeted: list[Task]
) -> None:
    cur = Curriculum(quotas={"*": 1}, retire_after=2)
    with Warehouse.open(tmp_path / "w.duckdb") as wh:
        build_pool(wh, "p", 1, targeted[:4], cur, mode="raft-union")
        second = build_pool(wh, "p", 2, targeted[4:])
        third = build_pool(wh, "p", 3, targeted[:2], Curriculum(), mode="on-policy")
    assert (second.mode, second.curriculum) == ("raft-union", cur)
    assert (third.mode, third.curriculum) == ("on-policy", Curriculum())
