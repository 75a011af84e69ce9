"""A warehouse's episodes as what determines them (no clock times), for comparing rollouts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from taskforge.warehouse import Warehouse


def stored_episodes(warehouse: Path) -> list[dict[str, Any]]:
    """Every stored episode, by id: task, trial, seed, reward, ending, error modes, contents."""
    with Warehouse.open(warehouse, read_only=True) as wh:
        rows = wh.query(
            "SELECT t.sim_id, t.task_id, t.trial, t.seed, t.reward, t.termination_reason, "
            "t.error_modes, list(m.content ORDER BY m.idx) AS contents FROM trajectories t "
            "JOIN messages m USING (traj_uid) GROUP BY ALL ORDER BY t.sim_id"
        )
    return rows.to_dicts()
