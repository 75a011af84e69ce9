"""The standard views answer their questions on hand-made trajectories."""

from __future__ import annotations

from pathlib import Path

import duckdb

from taskforge.contracts import Message, Task, TerminationReason, ToolCall, Trajectory
from taskforge.warehouse import Warehouse, get_adapter, ingest_paths
from taskforge.warehouse.views import views_current, views_stamp
from tests.unit.warehouse.conftest import episodes, make_run, write_shard


def _calls_episode(task: Task) -> Trajectory:
    """Calls A(x), A(x), B(y), A(x); the second B fails."""
    a = {"name": "get_order_details", "arguments": {"order_id": "#W1"}}
    b = {"name": "cancel_pending_order", "arguments": {"order_id": "#W1", "reason": "x"}}
    messages = []
    for i, spec in enumerate([a, a, b, a]):
        call = ToolCall(id=f"c{i}", **spec)
        messages.append(Message(role="assistant", tool_calls=[call]))
        content = "Error: Invalid reason" if spec is b else "{}"
        messages.append(Message(role="tool", id=f"c{i}", content=content, error=spec is b))
    return Trajectory(
        id="calls",
        task_id=task.id,
        trial=0,
        messages=messages,
        termination_reason=TerminationReason.MAX_STEPS,
    )


def test_views(tmp_path: Path, seed_tasks: list[Task]) -> None:
    tasks = seed_tasks[:2]
    trajs = [*episodes(tasks, 2), _calls_episode(tasks[0])]
    shard = write_shard(tmp_path / "s.jsonl", make_run(round_=3), tasks, trajs)
    wh_path = tmp_path / "w.duckdb"
    ingest_paths(wh_path, get_adapter("jsonl"), [shard])
    with Warehouse.open(wh_path, read_only=True) as wh:
        uid = wh.scalar("SELECT traj_uid FROM trajectories WHERE sim_id = 'calls'")
        repeated = wh.query(f"SELECT * FROM repeated_calls WHERE traj_uid = '{uid}'").to_dicts()
        errors = {r["name"]: r for r in wh.query("SELECT * FROM tool_error_rates").to_dicts()}
        writes = wh.query(f"SELECT * FROM write_calls WHERE traj_uid = '{uid}'").to_dicts()
        divergent = wh.query("SELECT * FROM first_divergent_writes").to_dicts()
        rounds = wh.query("SELECT * FROM success_by_round").to_dicts()
        pass_run = wh.query("SELECT * FROM pass_k_run").to_dicts()
    assert repeated == [
        {
            "traj_uid": uid,
            "n_calls": 4,
            "n_distinct": 2,
            "n_repeated": 2,
            "n_consecutive_repeats": 1,
        }
    ]
    assert errors["cancel_pending_order"]["n_errors"] == 1
    assert errors["cancel_pending_order"]["tool_type"] == "write"
    assert writes == [{"traj_uid": uid, "n_write_calls": 1, "n_write_errors": 1}]
    # the do-nothing episodes of write tasks stop before the gold write
    assert divergent and all(d["actual_tool"] is None and d["write_index"] == 0 for d in divergent)
    assert {d["expected_tool"] for d in divergent} <= {
        "cancel_pending_order",
        "modify_pending_order_address",
    }
    assert rounds == [{"round": 3, "n": 5, "success_rate": 0.4}]
    assert pass_run[0]["n_tasks"] == 2 and pass_run[0]["min_trials"] == 2


def test_views_are_recreated_only_when_they_differ_from_the_code(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    Warehouse.open(path).close()
    con = duckdb.connect(str(path))
    stamps = con.execute("SELECT DISTINCT comment FROM duckdb_views() WHERE NOT internal")
    assert stamps.fetchall() == [(views_stamp(),)]
    con.execute("CREATE OR REPLACE VIEW pass_k_run AS SELECT 1 AS x")  # a user's edit
    con.close()
    with Warehouse.open(path, read_only=True) as wh:  # a reader sees the code's views anyway
        assert "pass_1" in wh.query("SELECT * FROM pass_k_run").columns
    con = duckdb.connect(str(path), read_only=True)
    assert con.execute("SELECT * FROM pass_k_run").fetchall() == [(1,)]
    con.close()
    with Warehouse.open(path) as wh:
        assert views_current(wh.con)
        assert "pass_1" in wh.query("SELECT * FROM pass_k_run").columns


def test_a_macro_edited_by_hand_is_restored(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    Warehouse.open(path).close()
    con = duckdb.connect(str(path))
    con.execute("CREATE OR REPLACE MACRO is_success(r) AS false")  # the views stay stamped
    con.close()
    with Warehouse.open(path) as wh:
        assert wh.scalar("SELECT is_success(1.0)") is True
