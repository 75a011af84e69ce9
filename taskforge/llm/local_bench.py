"""``taskforge bench local``: the local server's prompt reuse, measured on a real rollout.

Two servers play the same tasks, trials and seeds in one run, one after the other:
llama-cpp-python's RAM prompt cache on one context (the baseline, what the server used before)
and taskforge's pool of contexts (:mod:`taskforge.llm.context_pool`). SmolLM2-135M plays
policy and user; each arm reports its wall time, episodes per minute, completion tokens per
second and the server's peak resident memory, and the pool's figures are given as ratios to
the baseline's.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from taskforge.llm.local import LocalServer, ServerOptions, free_port, local_llm_config

MAX_TOKENS = {"policy": 96, "user": 64}
"""Reply caps of policy and user (those of ``taskforge demo --local``)."""


@dataclass
class LocalBenchOptions:
    """What each arm plays, and the servers' settings.

    Attributes:
        tasks: Task file.
        db: DB file (None: the domain's bundled DB).
        limit: Tasks played (the file's first).
        trials: Trials per task.
        max_steps: Messages per episode at most.
        contexts: The pool's contexts.
        threads: Server threads (None: all cores).
        domain: Domain of the tasks.
    """

    tasks: Path
    db: Path | None = None
    limit: int = 3
    trials: int = 1
    max_steps: int = 6
    contexts: int = 4
    threads: int | None = None
    domain: str = "retail"


def run_local_bench(
    options: LocalBenchOptions, on_episode: Callable[[str], None] | None = None
) -> dict[str, Any]:
    """Both arms, then the pool's ratios to the baseline (``on_episode``: told each arm's name
    as each of its episodes ends)."""
    base = ServerOptions(threads=options.threads) if options.threads else ServerOptions()
    arms = {
        "ram_cache": replace(base, prompt_cache="ram", contexts=1),
        "context_pool": replace(base, prompt_cache="contexts", contexts=options.contexts),
    }
    results = {}
    for name, server in arms.items():
        tick = (lambda _reward, arm=name: on_episode(arm)) if on_episode else None
        results[name] = _run_arm(options, replace(server, port=free_port()), tick)
    ours, ref = results["context_pool"], results["ram_cache"]
    return {
        "baseline": "ram_cache",
        "arms": results,
        "episodes_per_min_ratio": _ratio(ours["episodes_per_min"], ref["episodes_per_min"]),
        "completion_tokens_per_s_ratio": _ratio(
            ours["completion_tokens_per_s"], ref["completion_tokens_per_s"]
        ),
        "peak_rss_ratio": _ratio(ours["server_peak_rss_mb"], ref["server_peak_rss_mb"]),
        "same_rewards": ours["rewards"] == ref["rewards"],
        "episodes": len(ours["rewards"]),
    }


def _run_arm(
    options: LocalBenchOptions, server: ServerOptions, on_episode: Callable[[float], None] | None
) -> dict[str, Any]:
    """One server, one rollout into a temporary folder; its figures."""
    from taskforge.rollout.api import RolloutRequest, run_rollout

    with tempfile.TemporaryDirectory(prefix="taskforge-bench-local-") as tmp:
        where = Path(tmp)
        with LocalServer(server, log_path=where / "server.log") as running:
            config = _write_config(where / "llm.yaml", running.api_base)
            request = RolloutRequest(
                tasks_path=options.tasks, db_path=options.db, trials=options.trials,
                config_path=config, concurrency=1, limit=options.limit,
                max_steps=options.max_steps, out_dir=where / "rollouts",
                warehouse=where / "bench.duckdb", domain=options.domain, cache=False,
            )  # fmt: skip
            start = time.perf_counter()
            result = run_rollout(request, on_episode=on_episode)
            wall = time.perf_counter() - start
            assert running.process is not None
            rss = peak_rss_mb(running.process.pid)
        rewards, tokens = _shard_figures(Path(result["shard"]))
    return {
        "prompt_cache": server.prompt_cache,
        "contexts": server.contexts,
        "threads": server.threads,
        "wall_s": round(wall, 1),
        "episodes_per_min": round(len(rewards) * 60 / wall, 2),
        "completion_tokens": tokens,
        "completion_tokens_per_s": round(tokens / wall, 2),
        "server_peak_rss_mb": rss,
        "rewards": rewards,
    }


def _write_config(path: Path, api_base: str) -> Path:
    import yaml

    data = local_llm_config(api_base, None)
    for role, cap in MAX_TOKENS.items():
        data[role]["max_tokens"] = cap
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def _shard_figures(shard: Path) -> tuple[list[float], int]:
    """Each episode's reward (in the shard's order of task and trial) and the completion
    tokens of all its messages."""
    lines = [json.loads(line) for line in shard.read_text(encoding="utf-8").splitlines()]
    episodes = [r["trajectory"] for r in lines if r.get("type") == "trajectory"]
    episodes.sort(key=lambda e: (e["task_id"], e["trial"]))
    rewards = [float((e.get("reward_info") or {}).get("reward") or 0.0) for e in episodes]
    tokens = sum(
        int((m.get("usage") or {}).get("completion_tokens") or 0)
        for e in episodes
        for m in e.get("messages", [])
    )
    return rewards, tokens


def peak_rss_mb(pid: int) -> float | None:
    """A live process's peak resident memory (Linux ``VmHWM``) in MB; None elsewhere."""
    try:
        status = Path(f"/proc/{pid}/status").read_text(encoding="utf-8")
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return None


def _ratio(ours: float | None, ref: float | None) -> float | None:
    return round(ours / ref, 3) if ours is not None and ref else None
