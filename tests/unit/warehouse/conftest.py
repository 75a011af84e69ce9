"""Fixtures for warehouse tests: small JSONL runs built from the project's own seed tasks."""

from __future__ import annotations

from pathlib import Path

import pytest

from taskforge.contracts import Message, Run, Task, TerminationReason, Trajectory
from taskforge.contracts.io import load_tasks
from taskforge.env.bench import gold_messages
from taskforge.env.domains import get_domain
from taskforge.env.evaluator import Evaluator
from taskforge.warehouse import ShardWriter

REPO = Path(__file__).resolve().parents[3]


def make_run(run_id: str = "run-a", round_: int = 0) -> Run:
    """A taskforge run record."""
    return Run(
        run_id=run_id,
        source="taskforge",
        agent_model="taskforge/scripted-policy",
        user_model="taskforge/scripted-user",
        round=round_,
        config={"k": 2},
    )


@pytest.fixture(scope="session")
def seed_tasks() -> list[Task]:
    """The shipped seed tasks."""
    return load_tasks(REPO / "datasets" / "retail" / "seed_tasks.json")


def episodes(tasks: list[Task], trials: int) -> list[Trajectory]:
    """Gold (success) on even trials, do-nothing (failure) on odd ones, scored for real."""
    dom = get_domain("retail")
    db = dom.load_db()
    evaluator = Evaluator(dom.toolkit_cls, db)
    out = []
    for task in tasks:
        gold = gold_messages(dom.toolkit_cls, db, task)
        idle = [Message(role="assistant", content="Hi! How can I help you today?")]
        for trial in range(trials):
            messages = gold if trial % 2 == 0 else idle
            info = evaluator.evaluate(task, messages, TerminationReason.USER_STOP)
            out.append(
                Trajectory(
                    id=f"{task.id}-{trial}",
                    task_id=task.id,
                    trial=trial,
                    termination_reason=TerminationReason.USER_STOP,
                    messages=messages,
                    reward_info=info,
                )
            )
    return out


def write_shard(path: Path, run: Run, tasks: list[Task], trajectories: list[Trajectory]) -> Path:
    """One complete JSONL shard."""
    with ShardWriter(path) as shard:
        shard.run(run)
        for task in tasks:
            shard.task(run.run_id, task)
        for traj in trajectories:
            shard.trajectory(run.run_id, traj)
    return path
