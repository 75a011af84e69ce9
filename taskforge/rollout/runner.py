"""Rollouts: k trials of every task, streamed to a JSONL shard, resumable, then ingested.

A rollout's identity (``run_id``) is a hash of what determines its episodes: the tasks, the
DB, the LLM config of the agent and user roles, the number of trials and the base seed. Its
episodes are appended, one line each, to ``<out>/<run_id>.jsonl.part`` as they finish; a rerun
of the same rollout reads that file and plays only the (task, trial) pairs it lacks. When all
pairs are done the file is renamed to ``<run_id>.jsonl`` (a complete shard, see
:mod:`taskforge.warehouse.shards`) and ingested into the warehouse. A fanned-out rollout
(:mod:`taskforge.rollout.chunks`) plays each chunk the same way, with a plan restricted to the
chunk's pairs and its shard named after the chunk.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from taskforge.contracts import Run, Task, Trajectory
from taskforge.domains import Domain
from taskforge.env.db import Database
from taskforge.rollout.episode import EpisodeRunner, EpisodeSpec
from taskforge.rollout.prompts import agent_system_prompt, user_system_prompt
from taskforge.warehouse.keys import content_key


@dataclass
class RolloutPlan:
    """What to play."""

    tasks: list[Task]
    trials: int
    seed: int
    out_dir: Path
    run: Run
    max_steps: int = 200
    max_errors: int = 10
    pairs: list[tuple[str, int]] | None = None
    """Only these (task id, trial) pairs (one chunk of a fanned-out rollout); None: all."""
    name: str | None = None
    """Stem of the shard's file name; None: the run id."""

    def all_pairs(self) -> list[tuple[Task, int]]:
        """The (task, trial) pairs the plan covers, task by task."""
        every = [(t, k) for t in self.tasks for k in range(self.trials)]
        if self.pairs is None:
            return every
        wanted = set(self.pairs)
        return [(t, k) for t, k in every if (t.id, k) in wanted]


def make_run_id(
    tasks: list[Task],
    db: Database,
    llm: dict[str, Any],
    trials: int,
    seed: int,
    round_: int | None = None,
) -> str:
    """Deterministic id of a rollout (the resume key); a loop round makes its own run."""
    task_keys = [t.to_json_dict() for t in tasks]
    extra = () if round_ is None else (round_,)
    return content_key("rollout", task_keys, db.hash, llm, trials, seed, *extra)


def episode_seed(seed: int, task_id: str, trial: int) -> int:
    """A distinct, reproducible seed per (task, trial)."""
    return int(content_key("seed", seed, task_id, trial)[-8:], 16)


def done_pairs(path: Path, run_id: str) -> set[tuple[str, int]]:
    """(task_id, trial) pairs already recorded in a part or complete shard."""
    done: set[tuple[str, int]] = set()
    if not path.exists():
        return done
    for line in path.read_bytes().splitlines():
        try:
            record = orjson.loads(line)
        except orjson.JSONDecodeError:
            continue  # a line cut short by a crash: that episode is played again
        if record.get("type") == "trajectory" and record.get("run_id") == run_id:
            traj = record["trajectory"]
            done.add((traj["task_id"], traj["trial"]))
    return done


class _PartFile:
    """The run's JSONL, appended one complete line at a time."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._trim_partial_line()
        self._file = path.open("ab")

    def _trim_partial_line(self) -> None:
        if self.path.exists():
            data = self.path.read_bytes()
            if data and not data.endswith(b"\n"):
                self.path.write_bytes(data[: data.rfind(b"\n") + 1])

    def write(self, record: dict[str, Any]) -> None:
        self._file.write(orjson.dumps(record) + b"\n")
        self._file.flush()

    def close(self) -> None:
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()


def _specs(
    plan: RolloutPlan, domain: Domain, tools: list[dict[str, Any]], todo: list[tuple[Task, int]]
) -> list[EpisodeSpec]:
    agent_system = agent_system_prompt(domain.policy)
    return [
        EpisodeSpec(
            episode_id=f"{plan.run.run_id}:{task.id}:{trial}",
            task=task,
            trial=trial,
            seed=episode_seed(plan.seed, task.id, trial),
            agent_system=agent_system,
            user_system=user_system_prompt(task),
            tools=tools,
            max_steps=plan.max_steps,
            max_errors=plan.max_errors,
        )
        for task, trial in todo
    ]


@dataclass
class EpisodeHooks:
    """Called around each episode: context set-up and tear-down, and the finished trajectory."""

    register: Callable[[EpisodeSpec], None] | None = None
    unregister: Callable[[EpisodeSpec], None] | None = None
    on_episode: Callable[[Trajectory], None] | None = None


def _open_part(plan: RolloutPlan, part: Path) -> tuple[_PartFile, set[tuple[str, int]]]:
    """The run's part file (headed by its run and tasks when new) and the pairs it holds."""
    fresh = not part.exists()
    done = done_pairs(part, plan.run.run_id)
    out = _PartFile(part)
    if fresh:
        out.write({"type": "run", "run": plan.run.model_dump(mode="json", exclude_none=True)})
        for task in plan.tasks:
            out.write({"type": "task", "run_id": plan.run.run_id, "task": task.to_json_dict()})
    return out, done


async def play(
    plan: RolloutPlan,
    runner: EpisodeRunner,
    domain: Domain,
    tools: list[dict[str, Any]],
    concurrency: int,
    hooks: EpisodeHooks | None = None,
) -> Path:
    """Play the missing episodes of a rollout; returns the complete shard's path."""
    stem = plan.name or plan.run.run_id
    final, part = plan.out_dir / f"{stem}.jsonl", plan.out_dir / f"{stem}.jsonl.part"
    if final.exists():
        return final
    hooks = hooks or EpisodeHooks()
    out, done = _open_part(plan, part)
    todo = [(t, k) for t, k in plan.all_pairs() if (t.id, k) not in done]
    gate = asyncio.Semaphore(max(1, concurrency))

    async def one(spec: EpisodeSpec) -> None:
        async with gate:
            if hooks.register is not None:
                hooks.register(spec)
            try:
                traj = await runner.run(spec)
            finally:
                if hooks.unregister is not None:
                    hooks.unregister(spec)
        out.write(
            {
                "type": "trajectory",
                "run_id": plan.run.run_id,
                "trajectory": traj.model_dump(mode="json", exclude_none=True),
            }
        )
        if hooks.on_episode is not None:
            hooks.on_episode(traj)

    try:
        await asyncio.gather(*(one(s) for s in _specs(plan, domain, tools, todo)))
    finally:
        out.close()
    os.replace(part, final)
    return final
