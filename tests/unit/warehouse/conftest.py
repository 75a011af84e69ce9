"""Fixtures for warehouse tests: small JSONL runs built from the project's own seed tasks."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import duckdb
import pytest

from taskforge.contracts import Message, Run, Task, TerminationReason, Trajectory
from taskforge.contracts.io import load_tasks
from taskforge.domains import get_domain
from taskforge.env.bench import gold_messages
from taskforge.env.evaluator import Evaluator
from taskforge.warehouse import ShardWriter, Warehouse, get_adapter, ingest_paths
from taskforge.warehouse.bench import TOOL_KINDS
from taskforge.warehouse.load import load_trajectories

REPO = Path(__file__).resolve().parents[3]


def downgrade(path: Path, version: int) -> duckdb.DuckDBPyConnection:
    """Turn a new warehouse back into the layout of ``version`` (undoing later migrations);
    the connection is left open for the caller to add old-layout rows."""
    con = duckdb.connect(str(path))
    if version < 7:
        con.execute("DROP TABLE source_layouts")
    # version 6 re-keys rows and changes no layout
    if version < 5:
        con.execute("ALTER TABLE ingested_files DROP COLUMN n_quarantined")
    if version < 4:
        for name in ("tool_call_id", "requestor", "error"):
            con.execute(f"ALTER TABLE messages DROP COLUMN {name}")
    if version < 3:
        con.execute("DROP TABLE loop_stages")
    if version < 2:
        con.execute("DROP TABLE pool_rounds")
        for name in ("pattern", "status", "reason", "pass_rate", "n_trials"):
            con.execute(f"ALTER TABLE task_pools DROP COLUMN {name}")
    con.execute("DELETE FROM schema_version WHERE version > ?", [version])
    return con


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


def odd_message(rng: random.Random, j: int) -> dict[str, Any]:
    """A message of some shape the contract allows: calls, answers, errors, extra fields."""
    kind = rng.choice(["text", "tool", "call", "system", "user_call"])
    m: dict[str, Any]
    if kind == "text":
        m = {"role": rng.choice(["assistant", "user"]), "content": rng.choice(["hi", "", None])}
        m |= {"reasoning": {"x": 1}, "raw_data": None} if rng.random() < 0.3 else {}
    elif kind == "system":
        m = {"role": "system", "content": "policy", "usage": {"prompt_tokens": 3}}
    elif kind == "tool":
        m = {"role": "tool", "id": f"c{rng.randint(0, 4)}"}
        m |= {"content": rng.choice(["ok", "Error: bad", "Err", "error: x", None, ""])}
        m |= {"error": rng.choice([True, False])} if rng.random() < 0.6 else {}
    else:
        calls = [
            {"id": f"c{rng.randint(0, 4)}", "name": rng.choice([*TOOL_KINDS, "nope"])}
            | {"arguments": {"a": rng.randint(0, 3), "b": [1, {"c": None}]}}
            for _ in range(rng.randint(0, 3))
        ]
        for call in calls:
            if rng.random() < 0.3:
                call["requestor"] = "user"
            if rng.random() < 0.2:
                del call["id"]
        m = {"role": "user" if kind == "user_call" else "assistant", "tool_calls": calls or None}
    if rng.random() < 0.5:
        m |= {"turn_idx": j, "cost": rng.choice([0.5, 1, 0]), "timestamp": "2025-01-01"}
    if rng.random() < 0.4:
        m["usage"] = {"prompt_tokens": rng.randint(1, 9), "completion_tokens": rng.randint(1, 9)}
        m["usage"] |= rng.choice([{}, {}, {"total_tokens": 5}, {"completion_tokens": "3"}])
        m["usage"] |= rng.choice([{}, {}, {"prompt_tokens": 2**63}, {"prompt_tokens": True}])
    if rng.random() < 0.5:
        m["schema_version"] = rng.choice(["1.0", "0.9"])
    return m


def odd_trajectory(rng: random.Random, i: int) -> dict[str, Any]:
    t: dict[str, Any] = {"id": f"w{i}", "task_id": "t1", "termination_reason": "user_stop"}
    t["messages"] = [odd_message(rng, j) for j in range(rng.randint(0, 12))]
    if rng.random() < 0.6:
        t["reward_info"] = {"reward": rng.choice([0.0, 1.0]), "reward_breakdown": {"DB": 1.0}}
        t["reward_info"]["db_check"] = {"db_match": True, "db_reward": 1.0}
        t["reward_info"]["diff"] = {"first_divergent_write": {"index": 0}}
    t |= {"error_modes": ["a"], "info": {"x": 1}} if rng.random() < 0.4 else {}
    t |= {"trial": 2, "seed": 5, "agent_cost": 1, "duration": 2.5} if rng.random() < 0.5 else {}
    return Trajectory.model_validate(t).to_json_dict()


def ingest_odd(wh_path: Path, n: int, seed: int) -> list[Trajectory]:
    """Ingest ``n`` odd trajectories (one shard, next to the warehouse) and return them."""
    rng = random.Random(seed)
    trajectories = [Trajectory.model_validate(odd_trajectory(rng, i)) for i in range(n)]
    task = Task.model_validate({"id": "t1", "user_scenario": {"instructions": "x"}})
    shard = write_shard(wh_path.with_suffix(".jsonl"), make_run("run-o"), [task], trajectories)
    ingest_paths(wh_path, get_adapter("jsonl"), [shard])
    return trajectories


def assert_read_back(wh: Warehouse, trajectories: list[Trajectory]) -> None:
    """Every trajectory reads back from the warehouse equal to what was ingested."""
    uids = dict(wh.con.execute("SELECT sim_id, traj_uid FROM trajectories").fetchall())
    back = load_trajectories(wh, list(uids.values()))
    for traj in trajectories:
        assert back[uids[traj.id]].model_dump(exclude_none=True) == traj.model_dump(
            exclude_none=True
        )
