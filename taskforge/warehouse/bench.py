"""``bench warehouse``: ingest rate and view latency against json + pandas, in the same run.

For each size, synthetic taskforge JSONL shards of realistic shape are written (the default
domain's bench worlds, ~20 messages per trajectory, 4 trials per task, tool errors, repeated
calls, rewards with a first divergent write), then:

* taskforge ingests them into a fresh warehouse (validation, content keys, one transaction per
  shard) and answers every standard view (``SELECT * FROM <view>`` into polars);
* the baseline reads the same shards with the stdlib ``json`` module into pandas DataFrames and
  answers the same questions with pandas.

Every ``ratio`` is a speedup: how many times faster taskforge is than the baseline (> 1 means
taskforge is faster). Timings of views and questions are the best of ``repeat`` runs.
"""

from __future__ import annotations

import json
import math
import os
import random
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pandas as pd
from pydantic import TypeAdapter

from taskforge.contracts import JsonlRecord, Run, Task
from taskforge.domains import DEFAULT_DOMAIN, get_domain
from taskforge.domains.protocols import BenchFixtures
from taskforge.warehouse.ingest import auto_workers, get_adapter, ingest_paths, input_files
from taskforge.warehouse.shards import ShardWriter
from taskforge.warehouse.store import Warehouse
from taskforge.warehouse.views import VIEWS

TRIALS = 4
"""Trials per task in every run (so pass^1..pass^4 have data)."""
N_TASKS = 200
"""Tasks per run (the same 200 tasks in every run)."""
INGEST_TARGET = 5000.0
"""Trajectories per second the ingest should reach at the largest size."""
VIEW_TARGET_S = 1.0
"""Seconds every standard view should stay under at the largest size."""


def _fixtures() -> BenchFixtures:
    """The synthetic worlds of the bench's domain."""
    return get_domain(DEFAULT_DOMAIN).bench_fixtures()


TOOL_KINDS: dict[str, str] = dict(_fixtures().TOOL_KINDS)
"""Tool name -> kind of the bench domain's toolkit."""
_RECORD: TypeAdapter[Any] = TypeAdapter(JsonlRecord)
_MODELS = ("openai/gpt-4.1-mini", "hosted_vllm/qwen3-4b-sft")
_ERROR_TEXT = {
    "read": "Error: order not found",
    "write": "Error: non-pending order cannot be modified",
}
_ASK = (
    "I'd be happy to help with that. To get started, could you please provide the email "
    "address associated with your account?",
    "Sure! First I need to verify your identity. Could you share your full name and zip code?",
)
_CLARIFY = (
    "Could you tell me which of your orders this is about, and which items you mean?",
    "Just to be sure: do you want me to use the original payment method for any difference?",
    "I see more than one order on your account. Which one would you like to change?",
)
_REPLIES = (
    "It's the most recent one, the one with the {product}.",
    "Yes, please use the same payment method as before.",
    "The order with the {product} in it, I think it was delivered last week.",
)


@dataclass
class _World:
    """One task and the entities its trajectories talk about, with the successful call plan."""

    task: Task
    difficulty: float
    product: str
    plan: list[tuple[str, dict[str, Any], str]]
    write: tuple[str, dict[str, Any]] | None
    user_text: str


@dataclass
class SyntheticStats:
    """What :func:`synthetic_shards` wrote."""

    n_shards: int = 0
    n_runs: int = 0
    n_tasks: int = 0
    n_run_tasks: int = 0
    n_trajectories: int = 0
    n_messages: int = 0
    n_tool_calls: int = 0
    n_bytes: int = 0
    paths: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------- synthetic worlds


def _rand_digits(rng: random.Random, n: int) -> str:
    return str(rng.randint(10 ** (n - 1), 10**n - 1))


def _worlds(rng: random.Random, n_tasks: int) -> list[_World]:
    worlds = []
    for i in range(n_tasks):
        task, product, plan, write = _fixtures().bench_world(rng, f"bench_{i}")
        text = f"Hi, I'd like some help with my recent order. I bought a {product.lower()}."
        worlds.append(_World(task, rng.uniform(0.25, 0.9), product, plan, write, text))
    return worlds


def _runs(n_runs: int, seed: int) -> list[Run]:
    base = datetime(2025, 6, 1)
    return [
        Run(
            run_id=f"bench-{seed}-run-{i:04d}",
            source="taskforge",
            agent_model=_MODELS[i % len(_MODELS)],
            user_model="openai/gpt-4.1",
            domain="retail",
            env_version="bench",
            round=i % 4,
            created_at=(base + timedelta(hours=i)).isoformat(),
            config={"seed": seed, "trials": TRIALS},
        )
        for i in range(n_runs)
    ]


# --------------------------------------------------------------------------- trajectories


class _Dialogue:
    """Accumulates the messages of one trajectory with turn indices, times, costs and usage."""

    def __init__(self, rng: random.Random, start: datetime) -> None:
        self.rng = rng
        self.clock = start
        self.messages: list[dict[str, Any]] = []
        self.agent_cost = 0.0
        self.user_cost = 0.0
        self.n_calls = 0

    def _stamp(self, msg: dict[str, Any], seconds: float) -> dict[str, Any]:
        self.clock += timedelta(seconds=seconds)
        msg["turn_idx"] = len(self.messages)
        msg["timestamp"] = self.clock.isoformat()
        self.messages.append(msg)
        return msg

    def _usage(self, msg: dict[str, Any], completion: int, agent: bool) -> None:
        prompt = (3200 if agent else 450) + 160 * len(self.messages)
        cost = round(prompt * 4e-7 + completion * 1.6e-6, 6)
        msg["cost"] = cost
        msg["usage"] = {"prompt_tokens": prompt, "completion_tokens": completion}
        if agent:
            self.agent_cost += cost
        else:
            self.user_cost += cost

    def say(self, role: str, text: str) -> None:
        """A user or assistant text message."""
        msg = self._stamp({"role": role, "content": text}, self.rng.uniform(0.4, 2.5))
        self._usage(msg, 12 + len(text) // 4, role == "assistant")

    def call(self, name: str, args: dict[str, Any], result: str, error: bool) -> None:
        """An assistant message with one tool call, then the tool's answer."""
        call_id = f"call_{self.rng.getrandbits(96):024x}"
        call = {"id": call_id, "name": name, "arguments": args, "requestor": "assistant"}
        msg = self._stamp({"role": "assistant", "tool_calls": [call]}, self.rng.uniform(0.5, 2))
        self._usage(msg, 18 + 6 * len(args), True)
        tool = {"id": call_id, "role": "tool", "content": result, "requestor": "assistant"}
        self._stamp({**tool, "error": error}, 0.001)
        self.n_calls += 1


def _agent_calls(
    rng: random.Random, world: _World, success: bool
) -> list[tuple[str, dict[str, Any], str, bool]]:
    """The calls of one trajectory: the plan, bent by failures, tool errors and repeats."""
    calls = [(n, a, r, False) for n, a, r in world.plan]
    if not success and world.write is not None and calls[-1][0] == world.write[0]:
        name, args, result, _ = calls.pop()
        if rng.random() < 0.6:  # wrong argument (else: the write is missing)
            calls.append((name, {**args, "order_id": f"#W{_rand_digits(rng, 7)}"}, result, False))
    out: list[tuple[str, dict[str, Any], str, bool]] = []
    for name, args, result, _ in calls:
        kind = TOOL_KINDS.get(name, "read")
        if kind in _ERROR_TEXT and rng.random() < 0.07:
            out.append((name, {**args, "order_id": "#W0000000"}, _ERROR_TEXT[kind], True))
        out.append((name, args, result, False))
        if rng.random() < 0.06:
            out.append((name, args, result, False))  # an identical call, repeated
    return out


def _dialogue(rng: random.Random, world: _World, success: bool, start: datetime) -> _Dialogue:
    d = _Dialogue(rng, start)
    d.say("assistant", "Hi! How can I help you today?")
    d.say("user", world.user_text)
    d.say("assistant", rng.choice(_ASK))
    d.say("user", f"Sure, it's {world.plan[0][1].get('email', 'my usual email')}.")
    calls = _agent_calls(rng, world, success)
    for k, (name, args, result, error) in enumerate(calls):
        if k == len(calls) - 1 and TOOL_KINDS.get(name) == "write":
            d.say("assistant", f"To confirm: I will call {name} on order {args['order_id']}. Yes?")
            d.say("user", "Yes, please go ahead.")
        elif k == 3 and rng.random() < 0.6:
            d.say("assistant", rng.choice(_CLARIFY))
            d.say("user", rng.choice(_REPLIES).format(product=world.product.lower()))
        d.call(name, args, result, error)
    d.say("assistant", "All done. Is there anything else I can help you with today?")
    d.say("user", "No, that's all. Thank you! ###STOP###")
    return d


def _reward_info(rng: random.Random, world: _World, success: bool, d: _Dialogue) -> dict[str, Any]:
    info: dict[str, Any] = {
        "reward": 1.0 if success else 0.0,
        "db_check": {"db_match": success, "db_reward": 1.0 if success else 0.0},
        "reward_basis": ["DB", "COMMUNICATE"],
        "reward_breakdown": {"DB": 1.0 if success else 0.0, "COMMUNICATE": 1.0},
    }
    if success or world.write is None or rng.random() < 0.3:
        return info
    writes = [
        c["tool_calls"][0]
        for c in d.messages
        if c.get("tool_calls") and TOOL_KINDS.get(c["tool_calls"][0]["name"]) == "write"
    ]
    actual = {"name": writes[0]["name"], "arguments": writes[0]["arguments"]} if writes else None
    expected = {"name": world.write[0], "arguments": world.write[1]}
    divergent: dict[str, Any] = {"index": 0, "expected": expected}
    if actual is not None:
        divergent["actual"] = actual
    info["diff"] = {"fields": [], "first_divergent_write": divergent}
    return info


def _trajectory(
    rng: random.Random, world: _World, run: Run, trial: int, start: datetime
) -> dict[str, Any]:
    p = min(0.97, world.difficulty + 0.04 * (run.round or 0))
    reason = rng.choices(("user_stop", "max_steps", "too_many_errors"), weights=(95, 3, 2))[0]
    success = reason == "user_stop" and rng.random() < p
    d = _dialogue(rng, world, success, start)
    if reason == "user_stop":
        reward = _reward_info(rng, world, success, d)
    else:
        reward = {"reward": 0.0, "reward_basis": ["DB", "COMMUNICATE"], "info": {"note": reason}}
    return {
        "id": f"{rng.getrandbits(128):032x}",
        "task_id": world.task.id,
        "timestamp": d.clock.isoformat(),
        "start_time": start.isoformat(),
        "end_time": d.clock.isoformat(),
        "duration": round((d.clock - start).total_seconds(), 3),
        "termination_reason": reason,
        "agent_cost": round(d.agent_cost, 6),
        "user_cost": round(d.user_cost, 6),
        "reward_info": reward,
        "messages": d.messages,
        "trial": trial,
        "seed": rng.randint(0, 2**31 - 1),
    }


# --------------------------------------------------------------------------- shards


class _BenchShardWriter(ShardWriter):
    """A shard writer that also takes trajectories already in their JSON form."""

    def trajectory_json(self, run_id: str, data: dict[str, Any]) -> None:
        """Record a finished episode given as JSON-ready data (checked by the caller)."""
        self._write({"type": "trajectory", "run_id": run_id, "trajectory": data})


def _check(record: dict[str, Any]) -> None:
    """Validate one line as taskforge JSONL (a sample check of the fast path)."""
    _RECORD.validate_python(orjson.loads(orjson.dumps(record)))


def synthetic_shards(
    out_dir: Path, n_trajectories: int, seed: int, shard_size: int = 5000
) -> dict[str, Any]:
    """Write ``n_trajectories`` synthetic Retail trajectories as taskforge JSONL shards.

    Runs have ``N_TASKS`` tasks x ``TRIALS`` trials each (the last one may be partial); every
    shard announces the runs it carries and their tasks. Deterministic given ``seed``.

    Args:
        out_dir: Folder for the shards (created).
        n_trajectories: How many trajectories to write.
        seed: Seed of the generator.
        shard_size: Trajectories per shard.

    Returns:
        Counts (shards, runs, tasks, run_tasks, trajectories, messages, tool calls, bytes)
        and the shard paths.
    """
    rng = random.Random(seed)
    worlds = _worlds(rng, N_TASKS)
    per_run = N_TASKS * TRIALS
    runs = _runs(max(1, math.ceil(n_trajectories / per_run)), seed)
    stats = SyntheticStats(n_runs=len(runs), n_tasks=len(worlds))
    stats.n_run_tasks = len(runs) * len(worlds)
    for first in range(0, n_trajectories, shard_size):
        count = min(shard_size, n_trajectories - first)
        path = out_dir / f"bench-{len(stats.paths):05d}.jsonl"
        writer = _BenchShardWriter(path)
        with writer:
            _fill_shard(writer, rng, worlds, runs, first, count, stats)
        stats.paths.append(str(path))
        stats.n_bytes += path.stat().st_size
    stats.n_shards = len(stats.paths)
    return stats.__dict__.copy()


def _fill_shard(
    writer: _BenchShardWriter,
    rng: random.Random,
    worlds: list[_World],
    runs: list[Run],
    first: int,
    count: int,
    stats: SyntheticStats,
) -> None:
    per_run = len(worlds) * TRIALS
    announced: set[str] = set()
    for index in range(first, first + count):
        run = runs[index // per_run]
        if run.run_id not in announced:
            announced.add(run.run_id)
            writer.run(run)
            for world in worlds:
                writer.task(run.run_id, world.task)
        slot = index % per_run
        start = datetime(2025, 6, 1) + timedelta(minutes=index)
        data = _trajectory(rng, worlds[slot // TRIALS], run, slot % TRIALS, start)
        if index == first:
            _check({"type": "trajectory", "run_id": run.run_id, "trajectory": data})
        writer.trajectory_json(run.run_id, data)
        stats.n_trajectories += 1
        stats.n_messages += len(data["messages"])
        stats.n_tool_calls += sum(1 for m in data["messages"] if m["role"] == "tool")


# --------------------------------------------------------------------------- baseline


def _columns(*names: str) -> dict[str, list[Any]]:
    return {n: [] for n in names}


class _BaselineLoader:
    """Reads the shards with ``json`` into column lists, then pandas DataFrames."""

    def __init__(self) -> None:
        self.runs: list[dict[str, Any]] = []
        self.tasks: list[dict[str, Any]] = []
        self.traj = _columns("traj", "run_id", "task_id", "trial", "reward", "termination")
        self.traj["first_divergent_write"] = []
        self.msgs = _columns("traj", "idx", "role", "content", "turn_idx", "cost")
        self.msgs.update(_columns("prompt_tokens", "completion_tokens"))
        self.calls = _columns("traj", "msg_idx", "call_idx", "name", "arguments", "result")
        self.calls.update(_columns("is_error", "tool_type"))

    def line(self, rec: dict[str, Any]) -> None:
        """Take one JSONL record."""
        kind = rec["type"]
        if kind == "run":
            r = rec["run"]
            self.runs.append({k: r.get(k) for k in ("run_id", "round", "source", "agent_model")})
        elif kind == "task":
            t = rec["task"]
            self.tasks.append(
                {
                    "run_id": rec["run_id"],
                    "task_id": t["id"],
                    "origin": t.get("origin"),
                    "pattern": t.get("pattern"),
                }
            )
        else:
            self.trajectory(rec["run_id"], rec["trajectory"])

    def trajectory(self, run_id: str, t: dict[str, Any]) -> None:
        """Flatten one trajectory into its row, message rows and tool-call rows."""
        key = f"{run_id}/{t['id']}"
        info = t.get("reward_info") or {}
        c = self.traj
        c["traj"].append(key)
        c["run_id"].append(run_id)
        c["task_id"].append(t["task_id"])
        c["trial"].append(t.get("trial"))
        c["reward"].append(info.get("reward"))
        c["termination"].append(t["termination_reason"])
        c["first_divergent_write"].append((info.get("diff") or {}).get("first_divergent_write"))
        results = {m["id"]: m for m in t["messages"] if m["role"] == "tool"}
        for idx, m in enumerate(t["messages"]):
            self._message(key, idx, m)
            for call_idx, call in enumerate(m.get("tool_calls") or []):
                self._call(key, idx, call_idx, call, results.get(call["id"]))

    def _message(self, key: str, idx: int, m: dict[str, Any]) -> None:
        usage = m.get("usage") or {}
        c = self.msgs
        c["traj"].append(key)
        c["idx"].append(idx)
        c["role"].append(m["role"])
        c["content"].append(m.get("content"))
        c["turn_idx"].append(m.get("turn_idx"))
        c["cost"].append(m.get("cost"))
        c["prompt_tokens"].append(usage.get("prompt_tokens"))
        c["completion_tokens"].append(usage.get("completion_tokens"))

    def _call(self, key: str, idx: int, call_idx: int, call: dict[str, Any], result: Any) -> None:
        error = None
        if result is not None:
            error = result.get("error")
            if error is None:
                error = (result.get("content") or "").startswith("Error:")
        c = self.calls
        c["traj"].append(key)
        c["msg_idx"].append(idx)
        c["call_idx"].append(call_idx)
        c["name"].append(call["name"])
        c["arguments"].append(json.dumps(call["arguments"]))
        c["result"].append(result.get("content") if result else None)
        c["is_error"].append(error)
        c["tool_type"].append(TOOL_KINDS.get(call["name"], "unknown"))

    def frames(self) -> dict[str, pd.DataFrame]:
        """The DataFrames (runs and tasks de-duplicated on their keys)."""
        return {
            "runs": pd.DataFrame(self.runs).drop_duplicates("run_id"),
            "tasks": pd.DataFrame(self.tasks).drop_duplicates(["run_id", "task_id"]),
            "trajectories": pd.DataFrame(self.traj),
            "messages": pd.DataFrame(self.msgs),
            "tool_calls": pd.DataFrame(self.calls),
        }


def baseline_load(paths: list[str]) -> dict[str, pd.DataFrame]:
    """Read shards with the stdlib ``json`` module into pandas DataFrames."""
    loader = _BaselineLoader()
    for path in paths:
        with open(path, encoding="utf-8") as handle:
            for line in handle:
                if line.strip():
                    loader.line(json.loads(line))
    return loader.frames()


def _pass_hat(n: pd.Series, c: pd.Series, k: int) -> pd.Series:
    """tau2's comb(c, k) / comb(n, k) as a product, NaN when n < k."""
    value = pd.Series(1.0, index=n.index)
    for i in range(k):
        value = value * (c - i).clip(lower=0) / (n - i).where(n - i > 0, np.nan)
    return value.where(c >= k, 0.0).where(n >= k, np.nan)


def _task_trials(f: dict[str, pd.DataFrame]) -> pd.DataFrame:
    t = f["trajectories"]
    t = t.assign(ok=(t["reward"] - 1.0).abs() <= 1e-6, r=t["reward"].fillna(0.0))
    return t.groupby(["run_id", "task_id"], as_index=False).agg(
        n_trials=("traj", "size"), n_success=("ok", "sum"), mean_reward=("r", "mean")
    )


def _pass_k_task(f: dict[str, pd.DataFrame]) -> pd.DataFrame:
    t = _task_trials(f)
    for k in range(1, TRIALS + 1):
        t[f"pass_{k}"] = _pass_hat(t["n_trials"], t["n_success"], k)
    return t


def _pass_k_run(f: dict[str, pd.DataFrame]) -> pd.DataFrame:
    t = _pass_k_task(f)
    out = t.groupby("run_id", as_index=False).agg(
        n_tasks=("task_id", "size"),
        min_trials=("n_trials", "min"),
        n_trajectories=("n_trials", "sum"),
        **{f"pass_{k}": (f"pass_{k}", "mean") for k in range(1, TRIALS + 1)},
    )
    for k in range(1, TRIALS + 1):
        out[f"pass_{k}"] = out[f"pass_{k}"].where(out["min_trials"] >= k)
    return out


def _outcomes(f: dict[str, pd.DataFrame]) -> pd.DataFrame:
    t = f["trajectories"]
    t = t.assign(success=(t["reward"] - 1.0).abs() <= 1e-6)
    out = t.merge(f["tasks"], on=["run_id", "task_id"], how="left").merge(
        f["runs"], on="run_id", how="left"
    )
    return out.assign(origin=out["origin"].fillna("unknown"), pattern=out["pattern"].fillna("none"))


def _success_by(keys: list[str]) -> Callable[[dict[str, pd.DataFrame]], pd.DataFrame]:
    def question(f: dict[str, pd.DataFrame]) -> pd.DataFrame:
        out = _outcomes(f).groupby(keys, as_index=False, dropna=False)
        return out.agg(n=("traj", "size"), success_rate=("success", "mean"))

    return question


def _tool_error_rates(f: dict[str, pd.DataFrame]) -> pd.DataFrame:
    c = f["tool_calls"]
    c = c.assign(err=c["is_error"].fillna(False).astype(bool))
    return c.groupby("name", as_index=False).agg(
        tool_type=("tool_type", "first"),
        n_calls=("traj", "size"),
        n_errors=("err", "sum"),
        error_rate=("err", "mean"),
    )


def _repeated_calls(f: dict[str, pd.DataFrame]) -> pd.DataFrame:
    c = f["tool_calls"].sort_values(["traj", "msg_idx", "call_idx"])
    c = c.assign(key=c["name"] + "\x00" + c["arguments"])
    prev = c.groupby("traj")["key"].shift()
    c = c.assign(same=(c["key"] == prev))
    out = c.groupby("traj", as_index=False).agg(
        n_calls=("key", "size"),
        n_distinct=("key", "nunique"),
        n_consecutive_repeats=("same", "sum"),
    )
    return out.assign(n_repeated=out["n_calls"] - out["n_distinct"])


def _write_calls(f: dict[str, pd.DataFrame]) -> pd.DataFrame:
    c = f["tool_calls"]
    c = c[c["tool_type"] == "write"]
    c = c.assign(err=c["is_error"].fillna(False).astype(bool))
    return c.groupby("traj", as_index=False).agg(
        n_write_calls=("err", "size"), n_write_errors=("err", "sum")
    )


def _first_divergent_writes(f: dict[str, pd.DataFrame]) -> pd.DataFrame:
    t = f["trajectories"]
    t = t[t["first_divergent_write"].notna()]
    d = t["first_divergent_write"]
    return pd.DataFrame(
        {
            "traj": t["traj"],
            "run_id": t["run_id"],
            "task_id": t["task_id"],
            "write_index": d.map(lambda x: x.get("index")),
            "expected_tool": d.map(lambda x: (x.get("expected") or {}).get("name")),
            "actual_tool": d.map(lambda x: (x.get("actual") or {}).get("name")),
            "actual_error": d.map(lambda x: x.get("actual_error")),
            "detail": d.map(json.dumps),
        }
    )


BASELINE_QUESTIONS: dict[str, Callable[[dict[str, pd.DataFrame]], pd.DataFrame]] = {
    "task_trials": _task_trials,
    "pass_k_task": _pass_k_task,
    "pass_k_run": _pass_k_run,
    "trajectory_outcomes": _outcomes,
    "success_by_origin": _success_by(["origin"]),
    "success_by_pattern": _success_by(["pattern", "round"]),
    "success_by_round": _success_by(["round"]),
    "tool_error_rates": _tool_error_rates,
    "repeated_calls": _repeated_calls,
    "write_calls": _write_calls,
    "first_divergent_writes": _first_divergent_writes,
}
"""The standard views' questions answered with pandas (one per name in ``VIEWS``)."""


# --------------------------------------------------------------------------- measuring


def _best(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    """Best wall time of ``repeat`` calls, and the last result."""
    best, result = math.inf, None
    for _ in range(max(1, repeat)):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def _rate(seconds: float, n_traj: int, n_msgs: int) -> dict[str, float]:
    return {
        "seconds": round(seconds, 4),
        "trajectories_per_s": round(n_traj / seconds, 1),
        "messages_per_s": round(n_msgs / seconds, 1),
    }


def _ingest(db_path: Path, paths: list[str]) -> tuple[float, Warehouse]:
    """Ingest as `taskforge ingest jsonl` does (worker processes, one file at a time)."""
    adapter = get_adapter("jsonl")
    files = input_files(adapter, [Path(p) for p in paths])
    start = time.perf_counter()
    ingest_paths(db_path, adapter, files, workers=auto_workers(files))
    elapsed = time.perf_counter() - start
    return elapsed, Warehouse.open(db_path)


def _views(wh: Warehouse, frames: dict[str, pd.DataFrame], repeat: int) -> dict[str, Any]:
    out = {}
    for name in (v for v in VIEWS if v in BASELINE_QUESTIONS):  # the trajectory views
        ours, _ = _best(partial(wh.query, f"SELECT * FROM {name}"), repeat)
        base, _ = _best(partial(BASELINE_QUESTIONS[name], frames), repeat)
        out[name] = {
            "taskforge_s": round(ours, 5),
            "baseline_s": round(base, 5),
            "ratio": round(base / ours, 2) if ours > 0 else None,
        }
    return out


def _close(a: dict[Any, Any], b: dict[Any, Any]) -> bool:
    if a.keys() != b.keys():
        return False
    return all(
        (x is None and y is None) or (x is not None and y is not None and math.isclose(x, y))
        for x, y in ((a[k], b[k]) for k in a)
    )


def _nan_none(value: Any) -> Any:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else value


def agreement(wh: Warehouse, frames: dict[str, pd.DataFrame]) -> dict[str, bool]:
    """Whether taskforge and the baseline give the same answers (pass^k, errors, repeats)."""
    checks = {}
    ours = wh.con.execute("SELECT run_id, pass_1, pass_4 FROM pass_k_run").fetchall()
    theirs = _pass_k_run(frames)
    for col, pos in (("pass_1", 1), ("pass_4", 2)):
        checks[f"{col}_per_run"] = _close(
            {r[0]: r[pos] for r in ours},
            {r: _nan_none(v) for r, v in zip(theirs["run_id"], theirs[col], strict=True)},
        )
    rows = wh.con.execute("SELECT name, n_calls, n_errors FROM tool_error_rates").fetchall()
    rates = _tool_error_rates(frames)
    checks["tool_error_rates"] = {r[0]: (r[1], r[2]) for r in rows} == {
        n: (int(c), int(e))
        for n, c, e in zip(rates["name"], rates["n_calls"], rates["n_errors"], strict=True)
    }
    rep = wh.con.execute(
        "SELECT sum(n_repeated), sum(n_consecutive_repeats) FROM repeated_calls"
    ).fetchall()[0]
    base = _repeated_calls(frames)
    checks["repeated_calls"] = (int(rep[0] or 0), int(rep[1] or 0)) == (
        int(base["n_repeated"].sum()),
        int(base["n_consecutive_repeats"].sum()),
    )
    n_fdw = wh.scalar("SELECT count(*) FROM first_divergent_writes")
    checks["first_divergent_writes"] = int(n_fdw) == len(_first_divergent_writes(frames))
    return checks


def bench_size(n: int, workdir: Path, seed: int, repeat: int = 3) -> dict[str, Any]:
    """Generate, ingest, query and compare at one size (files stay in ``workdir``)."""
    gen_start = time.perf_counter()
    shards = synthetic_shards(workdir / "shards", n, seed)
    gen_s = time.perf_counter() - gen_start
    n_traj, n_msgs = shards["n_trajectories"], shards["n_messages"]
    ours_s, wh = _ingest(workdir / "warehouse.duckdb", shards["paths"])
    try:
        base_s, frames = _best(lambda: baseline_load(shards["paths"]), 1)
        views = _views(wh, frames, repeat)
        checks = agreement(wh, frames)
        counts = wh.counts()
    finally:
        wh.close()
    return {
        "n_trajectories": n_traj,
        "n_messages": n_msgs,
        "n_tool_calls": shards["n_tool_calls"],
        "shard_mb": round(shards["n_bytes"] / 1e6, 1),
        "generate_s": round(gen_s, 2),
        "ingest": {
            "taskforge": _rate(ours_s, n_traj, n_msgs),
            "baseline": _rate(base_s, n_traj, n_msgs),
            "ratio": round(base_s / ours_s, 2),
        },
        "views": views,
        "max_view_s": max(v["taskforge_s"] for v in views.values()),
        "agree": all(checks.values()),
        "agreement": checks,
        "warehouse_counts": {
            k: counts[k] for k in ("runs", "tasks", "trajectories", "messages", "tool_calls")
        },
        "generated": {k: v for k, v in shards.items() if k != "paths"},
    }


def run_warehouse_bench(
    sizes: list[int],
    workdir: Path | None = None,
    seed: int = 0,
    keep: bool = False,
    repeat: int = 3,
) -> dict[str, Any]:
    """Run :func:`bench_size` for each size, with the targets at the largest size.

    Args:
        sizes: Numbers of trajectories, e.g. ``[10_000, 100_000]``.
        workdir: Where shards and warehouses go (default: a temporary folder).
        seed: Seed of the synthetic data.
        keep: Keep the generated shards and warehouses.
        repeat: Runs per view or question (the best one counts).

    Returns:
        ``{"sizes": {n: report}, "targets": {...}, "agree": bool, ...}``; every ``ratio`` is
        baseline time / taskforge time.
    """
    root = Path(workdir) if workdir is not None else Path(tempfile.mkdtemp(prefix="tf-bench-"))
    reports: dict[str, Any] = {}
    try:
        for n in sizes:
            where = root / f"size-{n}"
            shutil.rmtree(where, ignore_errors=True)
            reports[str(n)] = bench_size(n, where, seed, repeat)
            if not keep:
                shutil.rmtree(where, ignore_errors=True)
    finally:
        if not keep and workdir is None:
            shutil.rmtree(root, ignore_errors=True)
    return _summary(reports, root, keep)


def _summary(reports: dict[str, Any], root: Path, keep: bool) -> dict[str, Any]:
    largest = reports[max(reports, key=int)] if reports else None
    rate = largest["ingest"]["taskforge"]["trajectories_per_s"] if largest else 0.0
    max_view = largest["max_view_s"] if largest else math.inf
    return {
        "sizes": reports,
        "targets": {
            "size": int(max(reports, key=int)) if reports else None,
            "ingest_trajectories_per_s": INGEST_TARGET,
            "ingest_ok": rate >= INGEST_TARGET,
            "view_max_s": VIEW_TARGET_S,
            "views_ok": max_view < VIEW_TARGET_S,
        },
        "agree": all(r["agree"] for r in reports.values()),
        "ratio_meaning": "baseline seconds / taskforge seconds (> 1: taskforge is faster)",
        "baseline": "stdlib json + pandas DataFrames, same shards, same run",
        "cpu_count": os.cpu_count(),
        "workdir": str(root) if keep else None,
    }
