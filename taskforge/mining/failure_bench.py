"""A labeled failure benchmark the project generates itself, and scoring a taxonomy against it.

Failures come from the scripted policy with exactly one error mode switched on, so each failed
trajectory carries one known label (``Trajectory.error_modes``). Mining never reads that field;
the benchmark compares the mined patterns with it (ARI, NMI, purity, noise rate).
"""

from __future__ import annotations

import gzip
import os
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from taskforge.contracts import Run, Task, Trajectory
from taskforge.env.db import Database
from taskforge.env.evaluator import Evaluator
from taskforge.env.toolkit import Toolkit
from taskforge.warehouse.shards import ShardWriter

BENCH_RUN_ID = "failure-bench-v1"
"""Run id of the default domain's benchmark (other domains: :func:`bench_run_id`)."""


def bench_run_id(domain: str) -> str:
    """The run id of ``domain``'s benchmark (the default domain's is :data:`BENCH_RUN_ID`)."""
    from taskforge.domains import DEFAULT_DOMAIN

    return BENCH_RUN_ID if domain == DEFAULT_DOMAIN else f"failure-bench-{domain}-v1"


def _mode_failures(
    mode: str,
    tasks: Sequence[Task],
    db: Database,
    toolkit_cls: type[Toolkit],
    n: int,
    seed: int,
) -> list[Trajectory]:
    """Up to ``n`` failed episodes in which ``mode`` (and only it) fired."""
    from taskforge.domains import domain_of
    from taskforge.rollout.scripted_loop import scripted_trajectory

    rates = {m: (1.0 if m == mode else 0.0) for m in domain_of(db).scripted_agents().ERROR_MODES}
    evaluator = Evaluator(toolkit_cls, db)
    out: list[Trajectory] = []
    for attempt in range(n * 20):
        if len(out) >= n:
            break
        task = tasks[attempt % len(tasks)]
        traj = scripted_trajectory(
            task, db, evaluator, rates, seed * 1_000_003 + attempt, f"{mode}-{attempt}", attempt
        )
        info = traj.reward_info
        if info is not None and info.reward < 1.0 and set(traj.error_modes or []) == {mode}:
            out.append(traj)
    return out


def generate_failure_bench(
    out_dir: Path,
    tasks: Sequence[Task],
    db: Database,
    toolkit_cls: type[Toolkit],
    per_mode: int = 100,
    seed: int = 0,
) -> dict[str, Any]:
    """Write ``failures.jsonl.gz`` (a taskforge shard) with ``per_mode`` failures per mode.

    The shard's run carries the domain of ``db`` and its run id is :func:`bench_run_id`.
    """
    from taskforge.domains import domain_of

    domain = domain_of(db)
    failures = [
        t
        for mode in domain.scripted_agents().ERROR_MODES
        for t in _mode_failures(mode, tasks, db, toolkit_cls, per_mode, seed)
    ]
    out_dir.mkdir(parents=True, exist_ok=True)
    plain = out_dir / "failures.jsonl"
    run_id = bench_run_id(domain.name)
    with ShardWriter(plain) as shard:
        shard.run(
            Run(
                run_id=run_id,
                source="failure-bench",
                round=0,
                agent_model="taskforge/scripted-policy (one error mode at a time)",
                user_model="taskforge/scripted-user",
                domain=domain.name,
                config={"per_mode": per_mode, "seed": seed},
            )
        )
        for task in tasks:
            shard.task(run_id, task)
        for traj in failures:
            shard.trajectory(run_id, traj)
    target = out_dir / "failures.jsonl.gz"
    target.write_bytes(gzip.compress(plain.read_bytes(), mtime=0))
    os.remove(plain)
    counts = Counter(t.error_modes[0] for t in failures if t.error_modes)
    return {"path": str(target), "n_failures": len(failures), "per_mode": dict(counts)}


def score(
    labels: Sequence[str], clusters: Sequence[Any], outliers: Sequence[bool]
) -> dict[str, Any]:
    """ARI, NMI, purity and noise rate of a clustering against known labels."""
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    purity_hits = 0
    for cluster in set(clusters):
        members = [lab for lab, c in zip(labels, clusters, strict=True) if c == cluster]
        purity_hits += Counter(members).most_common(1)[0][1]
    return {
        "ari": round(float(adjusted_rand_score(labels, clusters)), 4),
        "nmi": round(float(normalized_mutual_info_score(labels, clusters)), 4),
        "purity": round(purity_hits / max(1, len(labels)), 4),
        "noise_rate": round(sum(outliers) / max(1, len(outliers)), 4),
        "n_clusters": len(set(clusters)),
    }


__all__ = ["BENCH_RUN_ID", "bench_run_id", "generate_failure_bench", "score"]
