"""Trajectories read back from the warehouse equal what was ingested (every value kept; an
explicit null and an absent key read back alike)."""

from __future__ import annotations

import json
from pathlib import Path

from taskforge.contracts import Trajectory
from taskforge.warehouse import Warehouse, get_adapter, ingest_paths
from taskforge.warehouse.load import load_tasks_by_uid, load_trajectories
from tests.unit.warehouse.conftest import assert_read_back, ingest_odd


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
    trajectories = ingest_odd(tmp_path / "w.duckdb", 60, seed=11)
    with Warehouse.open(tmp_path / "w.duckdb", read_only=True) as wh:
        assert wh.scalar("SELECT count(*) FROM messages WHERE extra IS NULL") > 0
        assert_read_back(wh, trajectories)
    kept = [m.usage for t in trajectories for m in t.messages if m.usage]
    assert any(set(u) != {"prompt_tokens", "completion_tokens"} for u in kept)
