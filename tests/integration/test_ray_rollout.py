"""Rollouts on Ray: the same episodes as in-process, and none lost or doubled when a worker dies.

A local Ray cluster (2 CPUs) plays 40 seed tasks x 2 trials with the offline scripted policy and
user; the local executor's run of the same rollout is the reference. Skipped without ray.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from taskforge.cli.app import app
from taskforge.executors.ray_executor import RayExecutor
from taskforge.rollout.api import RolloutRequest, run_rollout
from taskforge.rollout.chunks import ChunkJob, ChunkResult
from taskforge.warehouse import Warehouse
from tests.stored_episodes import stored_episodes

ray = pytest.importorskip("ray", reason="ray is not installed (pip install 'taskforge[ray]')")

REPO = Path(__file__).resolve().parents[2]
TASKS = REPO / "datasets" / "retail" / "seed_tasks.json"
N_TASKS, TRIALS = 40, 2


@pytest.fixture(scope="module")
def cluster() -> Iterator[None]:
    """A local Ray cluster for the module; this module's functions travel by value."""
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR)
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    yield
    ray.shutdown()


def _request(tmp: Path) -> RolloutRequest:
    out, warehouse = tmp / "r", tmp / "w.duckdb"
    return RolloutRequest(TASKS, trials=TRIALS, limit=N_TASKS, out_dir=out, warehouse=warehouse)


def _uids(warehouse: Path) -> list[str]:
    with Warehouse.open(warehouse, read_only=True) as wh:
        rows = wh.query("SELECT traj_uid FROM trajectories ORDER BY traj_uid").to_dicts()
    return [row["traj_uid"] for row in rows]


Reference = tuple[dict[str, Any], list[dict[str, Any]], list[str]]


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory) -> Reference:
    """The reference: the same rollout on the local executor, its stored episodes and keys."""
    tmp = tmp_path_factory.mktemp("local")
    result = run_rollout(_request(tmp))
    return result, stored_episodes(tmp / "w.duckdb"), _uids(tmp / "w.duckdb")


def _cli(tmp: Path) -> dict[str, Any]:
    args = ["rollout", "--tasks", str(TASKS), "--limit", str(N_TASKS), "--trials", str(TRIALS)]
    args += ["--out", str(tmp / "r"), "--warehouse", str(tmp / "w.duckdb"), "--json"]
    result = CliRunner().invoke(app, [*args, "--executor", "ray", "--workers", "2"])
    assert result.exit_code == 0, result.stderr
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def test_ray_rollout_plays_exactly_what_the_local_one_plays(
    cluster: None, local: Reference, tmp_path: Path
) -> None:
    reference, episodes, reference_uids = local
    result = _cli(tmp_path)
    assert result["executor"] == "ray" and result["episodes_played"] == N_TASKS * TRIALS
    pass_k = {str(k): v for k, v in reference["pass_k"].items()}  # JSON keys are strings
    assert result["run_id"] == reference["run_id"] and result["pass_k"] == pass_k
    assert stored_episodes(tmp_path / "w.duckdb") == episodes and len(episodes) == N_TASKS * TRIALS
    assert len(list(Path(result["shard"]).glob("chunk-*.jsonl"))) == 4  # 2 per worker
    uids = _uids(tmp_path / "w.duckdb")
    assert uids == reference_uids  # the same content keys: wall-clock fields are not in them
    again = _cli(tmp_path)  # a rerun plays nothing and lands nothing new
    assert again["episodes_played"] == 0 and again["pass_k"] == result["pass_k"]
    assert _uids(tmp_path / "w.duckdb") == uids


def _kill_when_written(part: Path, marker: str, episodes: int = 3) -> None:
    """SIGKILL this worker once the chunk's part file holds ``episodes`` episodes (once only)."""
    final = part.with_name(part.name.removesuffix(".part"))
    while not final.exists() and not os.path.exists(marker):
        if part.exists() and part.read_bytes().count(b'"type":"trajectory"') >= episodes:
            try:
                os.close(os.open(marker, os.O_CREAT | os.O_EXCL))
            except FileExistsError:
                return
            os.kill(os.getpid(), signal.SIGKILL)
        time.sleep(0.01)


def _die_once(marker: str, fn: Callable[[ChunkJob], ChunkResult], job: ChunkJob) -> ChunkResult:
    """Play the chunk; on the first attempt of the run, the worker dies partway through."""
    if not os.path.exists(marker):
        part = job.folder / f"{job.name}.jsonl.part"
        threading.Thread(target=_kill_when_written, args=(part, marker), daemon=True).start()
    return fn(job)


class _KillOnce(RayExecutor):
    """Ray, with one worker SIGKILLed mid-chunk (Ray retries its task)."""

    def __init__(self, marker: Path) -> None:
        super().__init__(num_workers=2)
        self.marker = str(marker)

    def map(self, fn: Any, items: Sequence[Any]) -> Iterator[Any]:
        return super().map(functools.partial(_die_once, self.marker, fn), items)


def test_a_worker_killed_mid_chunk_loses_and_doubles_nothing(
    cluster: None, local: Reference, tmp_path: Path
) -> None:
    reference, episodes, reference_uids = local
    marker = tmp_path / "killed"
    result = run_rollout(_request(tmp_path), executor=_KillOnce(marker))
    assert marker.exists(), "no worker was killed"
    assert result["episodes_played"] == N_TASKS * TRIALS
    assert result["pass_k"] == reference["pass_k"]
    assert stored_episodes(tmp_path / "w.duckdb") == episodes  # each (task, trial) once
    assert _uids(tmp_path / "w.duckdb") == reference_uids
    shards = list((tmp_path / "r").rglob("*.jsonl"))
    lines = sum(f.read_bytes().count(b'"type":"trajectory"') for f in shards)
    assert lines == N_TASKS * TRIALS  # the retry resumed the chunk: no episode played twice
    assert not list((tmp_path / "r").rglob("*.part"))
