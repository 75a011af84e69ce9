"""``bench scale``: rollout episodes/s on the local executor and on Ray, against a fake endpoint.

Policy and user are served by :class:`~taskforge.llm.fake_server.FakeOpenAIServer` on
127.0.0.1 with a fixed latency per call (a stand-in for a remote vLLM server), answering
:func:`~taskforge.llm.fake_server.short_episode_script`: four LLM calls per episode. Each
worker keeps at most ``concurrency`` episodes, so at most that many calls per client, in flight.

In one run, the same rollout (same tasks, trials and seed, so the same run id and episodes) is
played on the local executor (the baseline) and on a local Ray cluster with each number of
workers, each into a fresh folder and warehouse, the LLM cache off. Warm-up rollouts (another
seed) first pay LiteLLM's first-call imports here and start the Ray workers' processes, so that
neither is counted. Then the
driver's landing rate: the shards of the largest Ray run are ingested into a fresh warehouse
(one transaction per shard), in episodes per second. Ratios are Ray's episodes/s over the
local executor's (> 1: Ray is faster).
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

from taskforge.contracts.loop import ExecutorSettings
from taskforge.errors import DataError
from taskforge.executors import Executor, build_executor
from taskforge.llm.fake_server import FakeOpenAIServer, short_episode_script
from taskforge.rollout.api import RolloutRequest, run_rollout, shard_files

KEY_ENV = "TASKFORGE_BENCH_FAKE_KEY"
"""Variable holding the fake endpoint's (meaningless) key; Ray workers inherit it."""


def seed_tasks_path(domain: str) -> Path:
    """The domain's bundled seed tasks, next to the package (``<repo>/datasets/<domain>/``)."""
    path = Path(__file__).resolve().parents[2] / "datasets" / domain / "seed_tasks.json"
    if not path.exists():
        raise DataError(f"{path}: no bundled seed tasks for domain {domain!r}; pass --tasks-file")
    return path


def run_scale_bench(
    tasks_path: Path,
    n_tasks: int,
    trials: int,
    latency_ms: float,
    concurrency: int,
    workers: Sequence[int],
    workdir: Path | None = None,
    domain: str = "retail",
) -> dict[str, Any]:
    """Measure the rollout on every executor; see the module docstring.

    Args:
        tasks_path: Tasks to play (the first ``n_tasks``).
        n_tasks: Tasks per rollout.
        trials: Trials per task.
        latency_ms: Milliseconds the fake endpoint waits before each answer.
        concurrency: Episodes in flight per worker (and LLM calls per client).
        workers: Ray worker counts to measure (empty: the local executor only).
        workdir: Where rollouts and warehouses go (default: a temporary folder, removed).
        domain: The tasks' domain (its bundled DB is the rollout's).
    """
    if min(workers, default=1) < 1:
        raise DataError(f"--workers: every Ray worker count must be >= 1, got {list(workers)}")
    with _folder(workdir) as folder, FakeOpenAIServer(short_episode_script) as server:
        server.latency_s = latency_ms / 1000
        base = _base_request(tasks_path, n_tasks, trials, concurrency, folder, server.url)
        base.domain = domain
        run_rollout(_request(base, folder / "warmup-local", seed=base.seed + 1, limit=2))
        before = len(server.requests)  # the warm-up's calls: LiteLLM's first-call imports
        local = _measure(base, folder / "local", build_executor(ExecutorSettings()))
        calls = len(server.requests) - before
        report: dict[str, Any] = {
            "latency_ms": latency_ms,
            "n_tasks": n_tasks,
            "trials": trials,
            "episodes": n_tasks * trials,
            "concurrency_per_worker": concurrency,
            "llm_calls_per_episode": round(calls / max(1, local["episodes"]), 2),
            "cpu_count": os.cpu_count(),
            "local": local,
        }
        if workers:
            report.update(_ray_part(base, folder, workers, local))
    return report


def _ray_part(
    base: RolloutRequest, folder: Path, workers: Sequence[int], local: dict[str, Any]
) -> dict[str, Any]:
    """Ray runs for each worker count, their ratios to the local run, and the landing rate."""
    with _ray_cluster(max(workers)) as startup_s:
        start = time.perf_counter()
        warm = _request(base, folder / "warmup", seed=base.seed + 1, limit=max(workers) * 2)
        run_rollout(warm, executor=_ray(max(workers)))
        warmup_s = time.perf_counter() - start
        runs = {str(n): _measure(base, folder / f"ray{n}", _ray(n)) for n in workers}
    keys = ("run_id", "pass_k")
    same = all(r[k] == local[k] for r in runs.values() for k in keys)
    largest = folder / f"ray{max(workers)}"
    return {
        "ray": runs,
        "ratio_vs_local": {
            f"ray_{n}": round(r["episodes_per_s"] / local["episodes_per_s"], 2)
            for n, r in runs.items()
        },
        "landing": landing_rate(largest / "rollouts" / local["run_id"], folder / "landing.duckdb"),
        "ray_startup_s": round(startup_s, 2),
        "ray_warmup_s": round(warmup_s, 2),
        "same_results": same,
    }


def landing_rate(shards: Path, warehouse: Path) -> dict[str, Any]:
    """Ingest a run's folder of shards into a fresh warehouse, as the driver lands them."""
    from taskforge.warehouse import Warehouse, get_adapter, ingest_paths

    files = shard_files(shards)
    start = time.perf_counter()
    ingest_paths(warehouse, get_adapter("jsonl"), files)
    seconds = time.perf_counter() - start
    with Warehouse.open(warehouse, read_only=True) as wh:
        episodes = int(wh.query("SELECT count(*) AS n FROM trajectories").to_dicts()[0]["n"])
    return {
        "shards": len(files),
        "episodes": episodes,
        "seconds": round(seconds, 3),
        "episodes_per_s": round(episodes / seconds, 1) if seconds else None,
    }


def _measure(base: RolloutRequest, folder: Path, executor: Executor) -> dict[str, Any]:
    """One timed rollout (played and landed) on the executor, then the executor closed."""
    try:
        start = time.perf_counter()
        result = run_rollout(_request(base, folder), executor=executor)
        seconds = time.perf_counter() - start
    finally:
        executor.close()
    played = result["episodes_played"]
    return {
        "executor": result["executor"],
        "workers": executor.workers(),
        "episodes": played,
        "seconds": round(seconds, 3),
        "episodes_per_s": round(played / seconds, 2),
        "run_id": result["run_id"],
        "pass_k": result["pass_k"],
    }


def _ray(n: int) -> Executor:
    """A Ray executor of ``n`` workers on the cluster already started."""
    return build_executor(ExecutorSettings(kind="ray", num_workers=n))


@contextmanager
def _ray_cluster(cpus: int) -> Iterator[float]:
    """A local Ray cluster of ``cpus`` CPUs (or the one already initialised); yields the
    seconds it took to start."""
    from taskforge.executors.ray_executor import import_ray

    ray = import_ray()
    started = not ray.is_initialized()
    start = time.perf_counter()
    if started:
        args = {"include_dashboard": False, "log_to_driver": False}
        ray.init(num_cpus=cpus, logging_level=logging.ERROR, **args)
    try:
        yield time.perf_counter() - start
    finally:
        if started:
            ray.shutdown()


def _base_request(
    tasks_path: Path, n_tasks: int, trials: int, concurrency: int, folder: Path, url: str
) -> RolloutRequest:
    """The rollout every executor plays: policy and user on the fake endpoint, no cache."""
    os.environ[KEY_ENV] = "not-a-real-key"  # before Ray starts, so that its workers see it
    role = {"api_base": url, "api_key_env": KEY_ENV, "temperature": 0.0, "max_retries": 0}
    config = {
        "policy": {"model": "openai/bench-policy", **role},
        "user": {"model": "openai/bench-user", **role},
        "cache_dir": str(folder / "cache"),
    }
    path = folder / "llm.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    request = RolloutRequest(
        tasks_path, trials=trials, config_path=path, concurrency=concurrency, limit=n_tasks
    )
    request.cache = False
    return request


def _request(
    base: RolloutRequest, folder: Path, seed: int | None = None, limit: int | None = None
) -> RolloutRequest:
    """The base request into its own folder and warehouse (another seed or size if given)."""
    import dataclasses

    return dataclasses.replace(
        base,
        out_dir=folder / "rollouts",
        warehouse=folder / "w.duckdb",
        seed=base.seed if seed is None else seed,
        limit=base.limit if limit is None else limit,
    )


@contextmanager
def _folder(workdir: Path | None) -> Iterator[Path]:
    """The given folder (kept), or a temporary one removed afterwards."""
    if workdir is not None:
        workdir.mkdir(parents=True, exist_ok=True)
        yield workdir
        return
    folder = Path(tempfile.mkdtemp(prefix="taskforge-bench-scale-"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)
