"""Rollouts stream episodes to JSONL and resume: a rerun plays only the missing pairs."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import orjson

from taskforge.contracts import Message, Run, Task, TerminationReason, Trajectory
from taskforge.contracts.io import load_tasks
from taskforge.domains import get_domain
from taskforge.rollout.episode import EpisodeSpec
from taskforge.rollout.runner import RolloutPlan, done_pairs, episode_seed, play
from tests.unit.warehouse.conftest import REPO


class _Runner:
    """Stands in for EpisodeRunner: records which episodes it was asked to play."""

    def __init__(self) -> None:
        self.played: list[str] = []

    async def run(self, spec: EpisodeSpec) -> Trajectory:
        await asyncio.sleep(0)
        self.played.append(spec.episode_id)
        return Trajectory(
            id=spec.episode_id,
            task_id=spec.task.id,
            trial=spec.trial,
            seed=spec.seed,
            termination_reason=TerminationReason.USER_STOP,
            messages=[Message(role="user", content="###STOP###")],
        )


def _plan(tmp_path: Path, tasks: list[Task]) -> RolloutPlan:
    return RolloutPlan(
        tasks=tasks,
        trials=3,
        seed=5,
        out_dir=tmp_path,
        run=Run(run_id="rollout-test", source="taskforge"),
    )


def _play(plan: RolloutPlan, runner: Any) -> Path:
    dom = get_domain("retail")
    return asyncio.run(play(plan, runner, dom, [], concurrency=2))  # type: ignore[arg-type]


def test_resume_plays_only_missing_pairs(tmp_path: Path) -> None:
    tasks = load_tasks(REPO / "datasets" / "retail" / "seed_tasks.json")[:4]
    first = _Runner()
    shard = _play(_plan(tmp_path / "a", tasks), first)
    assert len(first.played) == 12 and done_pairs(shard, "rollout-test") == {
        (t.id, k) for t in tasks for k in range(3)
    }
    lines = shard.read_bytes().splitlines(keepends=True)
    header, episodes = lines[:5], lines[5:]
    part = tmp_path / "b" / "rollout-test.jsonl.part"
    part.parent.mkdir()
    part.write_bytes(b"".join(header + episodes[:7]) + episodes[7][:40])  # killed mid-line
    second = _Runner()
    final = _play(_plan(tmp_path / "b", tasks), second)
    assert len(second.played) == 5 and not part.exists()
    records = [orjson.loads(line) for line in final.read_bytes().splitlines()]
    pairs = [
        (r["trajectory"]["task_id"], r["trajectory"]["trial"])
        for r in records
        if r["type"] == "trajectory"
    ]
    assert sorted(pairs) == sorted({(t.id, k) for t in tasks for k in range(3)})
    assert sum(r["type"] == "run" for r in records) == 1
    third = _Runner()
    assert _play(_plan(tmp_path / "b", tasks), third) == final and third.played == []


def test_seeds_are_distinct_and_reproducible() -> None:
    seeds = {episode_seed(0, f"t{i}", k) for i in range(50) for k in range(4)}
    assert len(seeds) == 200
    assert episode_seed(0, "t1", 2) == episode_seed(0, "t1", 2) != episode_seed(1, "t1", 2)
