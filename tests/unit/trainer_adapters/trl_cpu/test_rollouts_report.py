"""The trainer's scored completions as a rollout shard: ingested, then charted per step.

No torch: the completions are written by hand (the gold reply and a plain text), scored by
the task reward as TRL would have it score them at optimizer steps 1 and 2.
"""

from __future__ import annotations

from pathlib import Path

from taskforge.domains import get_domain
from taskforge.env.db import Database
from taskforge.mining.report import render_report
from taskforge.warehouse import Warehouse, get_adapter, ingest_paths
from trainer_adapters.trl_cpu.prompts import PromptBuilder, call_json, write_actions
from trainer_adapters.trl_cpu.reward import TaskReward
from trainer_adapters.trl_cpu.tasks import easy_tasks
from trainer_adapters.trl_cpu.train import RunInfo, write_rollouts


class State:
    def __init__(self, step: int) -> None:
        self.global_step = step


def test_rollouts_land_and_the_report_charts_success_per_step(db: Database, tmp_path: Path) -> None:
    tasks = easy_tasks(db, "retail", n=2, seed=1)
    builder = PromptBuilder(db, "retail", tasks)
    reward = TaskReward({t.id: t for t in tasks}, {t.id: builder.opening(t) for t in tasks}, db)
    gold = call_json(write_actions(tasks[0], get_domain("retail").toolkit_cls.specs)[0])
    ids = [tasks[0].id, tasks[0].id]
    reward(["p"] * 2, ["Hello!", "Let me check."], ids, trainer_state=State(0))
    reward(["p"] * 2, [gold, "Let me check."], ids, trainer_state=State(1))
    shard = write_rollouts(tmp_path / "t.jsonl", reward.records, tasks, RunInfo("trl-r", "m"))
    ingest_paths(tmp_path / "wh.duckdb", get_adapter("jsonl"), [shard])
    ingest_paths(tmp_path / "wh.duckdb", get_adapter("jsonl"), [shard])  # a rerun adds nothing
    with Warehouse.open(tmp_path / "wh.duckdb", read_only=True) as wh:
        rows = wh.query(
            """SELECT extra->'info'->>'step' AS step, avg(reward) AS success, count(*) AS n
               FROM trajectories GROUP BY step ORDER BY step"""
        ).to_dicts()
        html = render_report(wh)
    assert rows == [
        {"step": "1", "success": 0.0, "n": 2},
        {"step": "2", "success": 0.5, "n": 2},
    ]
    assert "task success per optimizer step" in html
    assert "trl-r s2" in html and "50.0%" in html
