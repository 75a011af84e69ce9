"""A rollout fanned out on an executor: chunks of episodes, one shard each, landed here.

The driver (:func:`play_chunks`) splits the plan's missing (task, trial) pairs into chunks, and
the executor runs :func:`play_chunk` on each, in a worker that builds its own environment and
LLM clients from the serialisable :class:`ChunkJob`. A chunk streams its episodes to
``<out>/<run_id>/<chunk>.jsonl.part`` exactly as a local rollout streams to its part file, and
renames it to ``<chunk>.jsonl`` when every pair is played; the driver lands each finished shard
with the JSONL ingest (one transaction per shard, idempotent by content keys).

Nothing finished is lost and nothing lands twice:

* a worker killed mid-chunk is retried by the executor on the same chunk, which reads its part
  file and plays only the pairs it lacks (a line cut short is dropped and played again);
* a rerun after the driver died first seals the part files it finds (the run's local
  ``<run_id>.jsonl.part`` too) into complete shards of the episodes they hold, then chunks
  only the pairs that no shard of the run holds;
* a run the local executor finished (``<run_id>.jsonl``) is not played again.

Episode ids and seeds depend only on the run, the task and the trial, so a fanned-out rollout
plays the same episodes as a local one.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import orjson

from taskforge.contracts import Run, Task
from taskforge.errors import DataError
from taskforge.executors import Executor
from taskforge.rollout.api import RolloutRequest, chunk_folder, play_here, shard_files
from taskforge.rollout.runner import RolloutPlan, done_pairs
from taskforge.warehouse.keys import content_key, file_hash

CHUNKS_PER_WORKER = 2
"""Chunks per worker: a little balancing between fast and slow chunks, few shards."""


@dataclass
class ChunkJob:
    """What a worker needs to play one chunk (picklable: paths, settings and records)."""

    request: RolloutRequest
    run: Run
    tasks: list[Task]
    pairs: list[tuple[str, int]]
    folder: Path
    name: str


@dataclass
class ChunkResult:
    """A finished chunk: its shard, the reward of each of its episodes, how many it played."""

    shard: Path
    rewards: list[float]
    played: int


def play_chunk(job: ChunkJob) -> ChunkResult:
    """Play one chunk's missing episodes into its shard (resuming its part file, if any)."""
    from taskforge.domains import get_domain
    from taskforge.llm import load_llm_config

    request = job.request
    db = get_domain(request.domain).load_db(request.db_path)
    if db.hash != job.run.config.get("db_hash", db.hash):
        where = request.db_path or "the bundled DB"
        raise DataError(f"{where}: not the DB that run {job.run.run_id} was planned on")
    plan = RolloutPlan(
        tasks=job.tasks,
        trials=request.trials,
        seed=request.seed,
        out_dir=job.folder,
        run=job.run,
        max_steps=request.max_steps,
        pairs=job.pairs,
        name=job.name,
    )
    shard, played = play_here(request, plan, db, load_llm_config(request.config_path))
    return ChunkResult(shard, shard_rewards(shard, job.run.run_id), played)


def play_chunks(
    request: RolloutRequest,
    plan: RolloutPlan,
    executor: Executor,
    on_episode: Callable[[float], None] | None = None,
) -> tuple[Path, int]:
    """Play the plan's missing episodes as chunks on the executor, landing each shard.

    Returns:
        The run's folder of shards (or the local shard of a run finished locally) and the
        number of episodes played now.
    """
    from taskforge.warehouse import get_adapter, ingest_paths

    local = plan.out_dir / f"{plan.run.run_id}.jsonl"
    if local.exists():
        return local, 0
    folder = chunk_folder(plan)
    seal_orphans(plan, folder)
    landed = landed_pairs(request.warehouse, plan.run.run_id)

    def land(files: list[Path]) -> None:
        files = [f for f in files if drop_landed(f, plan.run.run_id, landed)]
        if files:
            ingest_paths(request.warehouse, get_adapter("jsonl"), files)

    land(shard_files(folder))  # what an interrupted driver finished but did not land
    todo = missing_pairs(plan, folder)
    for result in executor.map(play_chunk, chunk_jobs(request, plan, todo, executor.workers())):
        land([result.shard])
        if on_episode is not None:
            for reward in result.rewards:
                on_episode(reward)
    left = missing_pairs(plan, folder)
    if left:
        raise DataError(f"{folder}: {len(left)} episodes missing after every chunk finished")
    return folder, len(todo)


def landed_pairs(warehouse: Path | None, run_id: str) -> dict[tuple[str, int], str]:
    """The run's (task id, trial) pairs the warehouse holds, each with its episode's key."""
    from taskforge.warehouse import Warehouse

    if warehouse is None or not warehouse.exists():
        return {}
    with Warehouse.open(warehouse, read_only=True) as wh:
        rows = wh.query(
            "SELECT task_id, trial, traj_uid FROM trajectories WHERE run_id = ?", [run_id]
        ).rows()
    return {(str(task_id), int(trial)): uid for task_id, trial, uid in rows}


def drop_landed(shard: Path, run_id: str, landed: dict[tuple[str, int], str]) -> bool:
    """Cut from a shard the episodes of pairs another episode already landed, then mark its
    own landed; returns whether the shard still has something to land.

    A shard landed again lands as itself (same content keys, nothing stored twice). A pair
    that a retried worker played a second time, into another shard, keeps its first episode:
    the second is cut from its shard (rewritten atomically), so each (task, trial) of a run
    is stored once however its shards are landed.
    """
    kept: list[bytes] = []
    mine: dict[tuple[str, int], str] = {}
    cut = 0
    for line in shard.read_bytes().splitlines(keepends=True):
        episode = _episode_key(line, run_id)
        if episode is not None:
            pair, uid = episode
            if landed.get(pair, uid) != uid or mine.get(pair, uid) != uid:
                cut += 1
                continue
            mine[pair] = uid
        kept.append(line)
    if cut:
        tmp = shard.with_name(f".{shard.name}.{os.getpid()}.tmp")
        tmp.write_bytes(b"".join(kept))
        os.replace(tmp, shard)
    landed.update(mine)
    return bool(mine) or not cut


def _episode_key(line: bytes, run_id: str) -> tuple[tuple[str, int], str] | None:
    """The (task id, trial) and content key of an episode line of the run; None otherwise."""
    from taskforge.warehouse.rows import trajectory_uid

    record = orjson.loads(line)
    if record.get("type") != "trajectory" or record.get("run_id") != run_id:
        return None
    traj = record["trajectory"]
    return (str(traj["task_id"]), int(traj["trial"])), trajectory_uid(run_id, traj)


def missing_pairs(plan: RolloutPlan, folder: Path) -> list[tuple[str, int]]:
    """The plan's (task id, trial) pairs that no complete shard in the folder holds."""
    done: set[tuple[str, int]] = set()
    for shard in shard_files(folder):
        done |= done_pairs(shard, plan.run.run_id)
    return [(t.id, k) for t, k in plan.all_pairs() if (t.id, k) not in done]


def chunk_jobs(
    request: RolloutRequest, plan: RolloutPlan, todo: list[tuple[str, int]], workers: int
) -> list[ChunkJob]:
    """Split the pairs to play into contiguous chunks, about ``CHUNKS_PER_WORKER`` a worker.

    A chunk is named by its run and pairs, so a retried chunk finds its own part file.
    """
    n = min(len(todo), max(1, workers) * CHUNKS_PER_WORKER)
    request = _absolute(request)
    by_id = {t.id: t for t in plan.tasks}
    jobs = []
    for i in range(n):
        pairs = todo[len(todo) * i // n : len(todo) * (i + 1) // n]
        ids = dict.fromkeys(task_id for task_id, _ in pairs)
        name = content_key("chunk", plan.run.run_id, pairs)
        tasks = [by_id[task_id] for task_id in ids]
        jobs.append(ChunkJob(request, plan.run, tasks, pairs, chunk_folder(plan), name))
    return jobs


def _absolute(request: RolloutRequest) -> RolloutRequest:
    """The request with absolute paths, for workers that may start in another folder."""
    paths = ("tasks_path", "db_path", "config_path", "tool_schemas", "warehouse", "out_dir")
    changes = {p: getattr(request, p).resolve() for p in paths if getattr(request, p) is not None}
    return dataclasses.replace(request, **changes)


def seal_orphans(plan: RolloutPlan, folder: Path) -> list[Path]:
    """Turn the run's part files (chunks a dead driver left, or an unfinished local rollout)
    into complete shards of the episodes they hold; part files holding none are removed."""
    local = plan.out_dir / f"{plan.run.run_id}.jsonl.part"
    parts = ([local] if local.exists() else []) + sorted(folder.glob("*.jsonl.part"))
    sealed = []
    for part in parts:
        if done_pairs(part, plan.run.run_id):
            sealed.append(_seal(part, folder))
        else:
            part.unlink()
    return sealed


def _seal(part: Path, folder: Path) -> Path:
    """Copy a part file's complete lines to a shard named by their hash, then drop the part.

    Killed at any point, a rerun seals the same lines to the same name again.
    """
    data = part.read_bytes()
    data = data[: data.rfind(b"\n") + 1]  # a line cut short: that episode is played again
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"sealed-{file_hash(data)[-16:]}.jsonl"
    tmp = folder / f".{target.name}.{os.getpid()}.tmp"
    with tmp.open("wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, target)
    part.unlink()
    return target


def shard_rewards(shard: Path, run_id: str) -> list[float]:
    """The reward of every episode of the run in a shard (0.0 when it has none)."""
    rewards = []
    for line in shard.read_bytes().splitlines():
        record = orjson.loads(line)
        if record.get("type") == "trajectory" and record.get("run_id") == run_id:
            info = record["trajectory"].get("reward_info") or {}
            rewards.append(float(info.get("reward") or 0.0))
    return rewards
