"""Trajectories read back from the warehouse equal what was ingested (every value kept; an
explicit null and an absent key read back alike)."""

from __future__ import annotations

import json
import random
from pathlib import Path

from taskforge.contracts import Task, Trajectory
from taskforge.warehouse import Warehouse, get_adapter, ingest_paths
from taskforge.warehouse.load import load_tasks_by_uid, load_trajectories
from tests.unit.warehouse.conftest import make_run, odd_trajectory, write_shard


def test_tau2_simulations_round_trip(tmp_path: Path, tau2_dir: Path) -> None:
    path = tau2_dir / "results" / "gpt-4.1_retail_test_1trial.json"
    raw = json.loads(path.read_text())
    wh_path = tmp_path / "w.duckdb"
    ingest_paths(wh_path, get_adapter("tau2"), [path])
    with Warehouse.open(wh_path, read_only=True) as wh:
        rows = wh.query("SELECT traj_uid, sim_id, task_uid FROM trajectories").to_dicts()
        back = load_trajectories(wh, [r["traj_uid"] for r in rows])
        tasks = load_tasks_by_uid(wh, [r["task_uid"] for r in rows])
    by_id = {s["id"]: s for s in raw["simulations"]}
    for row in rows:
        original = Trajectory.model_validate(by_id[row["sim_id"]])
        assert back[row["traj_uid"]].model_dump(exclude_none=True) == original.model_dump(
            exclude_none=True
        )
    raw_tasks = {t["id"]: t for t in raw["tasks"]}
    assert all(t.to_json_dict() == raw_tasks[t.id] for t in tasks.values())


def test_odd_messages_round_trip_through_their_columns(tmp_path: Path) -> None:
    """Tool-message ids, requestors, error flags and token counts live in columns; usage that is
    more than the two counts (or not ints) is kept whole, and every message reads back equal."""
    rng = random.Random(11)
    trajectories = [Trajectory.model_validate(odd_trajectory(rng, i)) for i in range(60)]
    task = Task.model_validate({"id": "t1", "user_scenario": {"instructions": "x"}})
    shard = write_shard(tmp_path / "s.jsonl", make_run("run-o"), [task], trajectories)
    wh_path = tmp_path / "w.duckdb"
    ingest_paths(wh_path, get_adapter("jsonl"), [shard])
    with Warehouse.open(wh_path, read_only=True) as wh:
        uids = dict(wh.con.execute("SELECT sim_id, traj_uid FROM trajectories").fetchall())
        back = load_trajectories(wh, list(uids.values()))
        n_plain = wh.scalar("SELECT count(*) FROM messages WHERE extra IS NULL")
    kept = [m.usage for t in trajectories for m in t.messages if m.usage]
    assert any(set(u) != {"prompt_tokens", "completion_tokens"} for u in kept)
    assert n_plain > 0
    for traj in trajectories:
        assert back[uids[traj.id]].model_dump(exclude_none=True) == traj.model_dump(
            exclude_none=True
        )
