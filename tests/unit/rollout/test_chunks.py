"""A rollout fanned out in chunks: same episodes as a local one, resumable at every point.

These run the chunk path in this process (an executor that maps in order but is not
``in_process``); tests/integration/test_ray_rollout.py runs it on Ray.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import orjson
import pytest

from taskforge.contracts import Run
from taskforge.contracts.io import load_tasks
from taskforge.executors.local import LocalExecutor
from taskforge.rollout.api import RolloutRequest, run_rollout
from taskforge.rollout.chunks import ChunkJob, chunk_jobs, play_chunk
from taskforge.rollout.runner import RolloutPlan, done_pairs
from taskforge.warehouse import Warehouse
from tests.stored_episodes import stored_episodes
from tests.unit.warehouse.conftest import REPO

TASKS = REPO / "datasets" / "retail" / "seed_tasks.json"


class _Chunked(LocalExecutor):
    """Maps in this process, but makes the rollout take its chunk path (two 'workers')."""

    in_process = False

    def workers(self) -> int:
        return 2


def _request(tmp: Path, **changes: Any) -> RolloutRequest:
    base = RolloutRequest(
        tasks_path=TASKS, trials=2, limit=3, out_dir=tmp / "r", warehouse=tmp / "w.duckdb"
    )
    return dataclasses.replace(base, **changes)


def _lines(shard: Path) -> tuple[list[bytes], list[bytes]]:
    """A shard's header lines (run, tasks) and its episode lines."""
    lines = shard.read_bytes().splitlines(keepends=True)
    episodes = [line for line in lines if orjson.loads(line)["type"] == "trajectory"]
    return [line for line in lines if line not in episodes], episodes


@pytest.fixture(scope="module")
def whole(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A chunked rollout of 3 tasks x 2 trials (4 chunks), played once for the module."""
    return run_rollout(_request(tmp_path_factory.mktemp("whole")), executor=_Chunked())


def test_chunks_cover_the_missing_pairs_once_named_by_their_pairs(tmp_path: Path) -> None:
    tasks = load_tasks(TASKS)[:5]
    plan = RolloutPlan(tasks, 2, 0, tmp_path, Run(run_id="rollout-t", source="taskforge"))
    todo = [(t.id, k) for t in tasks for k in range(2)][1:]
    request = _request(Path("relative"))
    jobs = chunk_jobs(request, plan, todo, workers=2)
    assert len(jobs) == 4 and [p for job in jobs for p in job.pairs] == todo
    assert [job.name for job in jobs] == [j.name for j in chunk_jobs(request, plan, todo, 2)]
    assert len({job.name for job in jobs}) == 4
    for job in jobs:
        assert [t.id for t in job.tasks] == list(dict.fromkeys(i for i, _ in job.pairs))
        assert job.folder == tmp_path / "rollout-t" and job.request.out_dir.is_absolute()
    assert len(chunk_jobs(request, plan, todo[:3], workers=8)) == 3


def test_chunked_rollout_plays_what_a_local_one_plays(
    tmp_path: Path, whole: dict[str, Any]
) -> None:
    local = run_rollout(_request(tmp_path / "local"))
    chunked = whole
    assert chunked["run_id"] == local["run_id"]
    assert chunked["pass_k"] == local["pass_k"]  # pass_k_run sums in value order
    assert chunked["episodes_played"] == 6 and chunked["executor"] == "local"
    folder = Path(chunked["shard"])
    assert folder.is_dir() and len(list(folder.glob("chunk-*.jsonl"))) == 4
    episodes = stored_episodes(Path(whole["warehouse"]))
    assert episodes == stored_episodes(tmp_path / "local" / "w.duckdb") and len(episodes) == 6
    finished = run_rollout(_request(tmp_path / "local"), executor=_Chunked())
    assert finished["episodes_played"] == 0 and finished["shard"] == local["shard"]
    base = folder.parent.parent  # the local executor continues a fanned-out run's folder
    again = run_rollout(_request(base))
    assert again["episodes_played"] == 0 and again["shard"] == str(folder)
    assert stored_episodes(Path(whole["warehouse"])) == episodes


def test_a_retried_chunk_plays_only_what_its_part_file_lacks(
    tmp_path: Path, whole: dict[str, Any]
) -> None:
    task = load_tasks(TASKS)[0]
    run = _run(Path(whole["shard"]))
    folder, pairs = tmp_path / "b" / run.run_id, [(task.id, 0), (task.id, 1)]
    job = ChunkJob(_request(tmp_path / "b"), run, [task], pairs, folder, "chunk-retried")
    task_id, lines = task.id, _shard_lines(Path(whole["shard"]))
    run_line = next(x for x, r in lines if r["type"] == "run")
    task_line = next(x for x, r in lines if r["type"] == "task" and r["task"]["id"] == task_id)
    mine = [
        x for x, r in lines if r["type"] == "trajectory" and r["trajectory"]["task_id"] == task_id
    ]
    part = job.folder / f"{job.name}.jsonl.part"
    part.parent.mkdir(parents=True)
    part.write_bytes(run_line + task_line + mine[0] + mine[1][:50])  # killed mid-line
    result = play_chunk(job)
    assert result.played == 1 and not part.exists() and len(result.rewards) == 2
    assert done_pairs(result.shard, job.run.run_id) == set(job.pairs)
    assert result.shard.read_bytes().count(mine[0]) == 1  # the finished episode is kept as is


def _shard_lines(folder: Path) -> list[tuple[bytes, dict[str, Any]]]:
    """Every line of a folder's shards, with its record."""
    shards = sorted(folder.glob("*.jsonl"))
    return [(x, orjson.loads(x)) for f in shards for x in f.read_bytes().splitlines(keepends=True)]


def _run(folder: Path) -> Run:
    """The run record the shards of a rollout carry."""
    first = next(folder.glob("*.jsonl")).read_bytes().splitlines()[0]
    return Run.model_validate(orjson.loads(first)["run"])


def test_orphan_part_files_are_sealed_and_nothing_lands_twice(
    tmp_path: Path, whole: dict[str, Any]
) -> None:
    shards = sorted(Path(whole["shard"]).glob("*.jsonl"))
    out = tmp_path / "b" / "r"
    (out / whole["run_id"]).mkdir(parents=True)
    header, episodes = _lines(shards[0])  # a local rollout killed after two episodes
    (out / f"{whole['run_id']}.jsonl.part").write_bytes(
        b"".join(header) + episodes[0] + episodes[1][:40]
    )
    header, episodes = _lines(shards[1])  # a chunk whose driver died, and an empty one
    (out / whole["run_id"] / "chunk-dead.jsonl.part").write_bytes(b"".join(header) + episodes[0])
    (out / whole["run_id"] / "chunk-empty.jsonl.part").write_bytes(b"".join(header))
    result = run_rollout(_request(tmp_path / "b"), executor=_Chunked())
    assert result["episodes_played"] == 4 and result["episodes_resumed"] == 2
    assert not list(out.rglob("*.part"))
    assert len(list((out / whole["run_id"]).glob("sealed-*.jsonl"))) == 2
    stored = stored_episodes(tmp_path / "b" / "w.duckdb")
    assert len(stored) == 6 and stored == stored_episodes(Path(whole["warehouse"]))
    with Warehouse.open(tmp_path / "b" / "w.duckdb", read_only=True) as wh:
        kept = wh.scalar(
            "SELECT count(*) FROM trajectories WHERE start_time = ?",
            [orjson.loads(episodes[0])["trajectory"]["start_time"]],
        )
    assert kept == 1  # the sealed episode itself, not a replay of it


def test_a_chunk_refuses_another_db(tmp_path: Path, whole: dict[str, Any]) -> None:
    run = _run(Path(whole["shard"]))
    run.config["db_hash"] = "not-this-one"
    job = ChunkJob(_request(tmp_path), run, [], [], tmp_path / "c", "chunk-x")
    with pytest.raises(Exception, match="not the DB that run"):
        play_chunk(job)


def _counts(warehouse: Path) -> tuple[int, int, int]:
    """Trajectories, distinct (task, trial) pairs, and messages in a warehouse."""
    with Warehouse.open(warehouse, read_only=True) as wh:
        return (
            wh.scalar("SELECT count(*) FROM trajectories"),
            wh.scalar("SELECT count(DISTINCT (task_id, trial)) FROM trajectories"),
            wh.scalar("SELECT count(*) FROM messages"),
        )


def test_a_shard_folder_landed_again_stores_nothing_twice(
    tmp_path: Path, whole: dict[str, Any]
) -> None:
    from taskforge.warehouse import get_adapter, ingest_paths

    folder = Path(whole["shard"])
    before = {f.name: f.read_bytes() for f in folder.glob("*.jsonl")}
    counts = _counts(Path(whole["warehouse"]))
    assert counts[:2] == (6, 6)
    ingest_paths(Path(whole["warehouse"]), get_adapter("jsonl"), sorted(folder.glob("*.jsonl")))
    again = run_rollout(_request(folder.parent.parent), executor=_Chunked())  # lands the folder
    assert again["episodes_played"] == 0 and _counts(Path(whole["warehouse"])) == counts
    assert {f.name: f.read_bytes() for f in folder.glob("*.jsonl")} == before  # left whole


def test_a_retried_workers_second_shard_of_the_same_episodes_lands_once(
    tmp_path: Path, whole: dict[str, Any]
) -> None:
    import shutil

    run_id = whole["run_id"]
    out = tmp_path / "b" / "r" / run_id
    shutil.copytree(Path(whole["shard"]), out)
    first = sorted(out.glob("chunk-*.jsonl"))[0]
    header, episodes = _lines(first)
    replayed = [_replayed(line) for line in episodes]  # the same pairs played again later
    (out / "chunk-0-retry.jsonl").write_bytes(b"".join(header) + b"".join(replayed))
    result = run_rollout(_request(tmp_path / "b"), executor=_Chunked())
    assert result["episodes_played"] == 0
    counts = _counts(tmp_path / "b" / "w.duckdb")
    assert counts == _counts(Path(whole["warehouse"])) and counts[:2] == (6, 6)
    again = run_rollout(_request(tmp_path / "b"), executor=_Chunked())  # and landed again
    assert again["episodes_played"] == 0 and _counts(tmp_path / "b" / "w.duckdb") == counts
    pairs = [done_pairs(f, run_id) for f in sorted(out.glob("*.jsonl"))]
    assert sum(len(p) for p in pairs) == 6  # each pair in one shard: the retry's copy was cut


def _replayed(line: bytes) -> bytes:
    """An episode line as a second play by a sampling model records it (another start time,
    and the last turn worded otherwise: a different content key)."""
    record = orjson.loads(line)
    record["trajectory"]["start_time"] = "2030-01-01T00:00:00"
    record["trajectory"]["messages"][-1]["content"] = "Worded otherwise on the second play."
    return orjson.dumps(record) + b"\n"
