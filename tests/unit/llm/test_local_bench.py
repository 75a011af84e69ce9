"""``taskforge bench local``'s figures from a rollout shard and the server process."""

from __future__ import annotations

import json
import os
from pathlib import Path

from taskforge.llm.local_bench import _shard_figures, peak_rss_mb


def test_rewards_follow_task_and_trial_and_tokens_sum_every_message(tmp_path: Path) -> None:
    def traj(task: str, trial: int, reward: float, tokens: list[int]) -> dict[str, object]:
        messages = [{"role": "assistant", "usage": {"completion_tokens": n}} for n in tokens]
        body = {"task_id": task, "trial": trial, "reward_info": {"reward": reward}}
        return {"type": "trajectory", "trajectory": {**body, "messages": messages}}

    records = [
        {"type": "run", "run": {}},
        traj("b", 0, 1.0, [3]),
        traj("a", 1, 0.0, [5, 7]),
        traj("a", 0, 1.0, []),
    ]
    shard = tmp_path / "run.jsonl"
    shard.write_text("".join(json.dumps(r) + "\n" for r in records))
    assert _shard_figures(shard) == ([1.0, 0.0, 1.0], 15)


def test_peak_memory_of_a_live_process_and_none_for_a_gone_one() -> None:
    mine = peak_rss_mb(os.getpid())
    assert mine is None or mine > 10  # None where /proc is missing (not Linux)
    assert peak_rss_mb(2**22 + 7) is None
