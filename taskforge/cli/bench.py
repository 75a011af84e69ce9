"""``taskforge bench``: speed figures as ratios against a baseline measured in the same run."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import typer

from taskforge.cli.common import DOMAIN_OPTION, JSON_OPTION, App, console, emit_json, fail
from taskforge.contracts.io import load_tasks
from taskforge.env.bench import run_env_bench
from taskforge.env.domains import get_domain

app = App(help="Benchmarks (ratios against a same-run baseline).", no_args_is_help=True)


@app.command("env")
def env(
    tasks_path: Path = typer.Option(..., "--tasks", help="tasks.json to evaluate."),
    db_path: Path | None = typer.Option(None, "--db", help="DB JSON (default: bundled DB)."),
    seconds: float = typer.Option(2.0, "--seconds", min=0.1, help="Time per measurement."),
    domain: str = DOMAIN_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Full evaluations per second (fresh env + gold replay as trajectory + evaluation)."""
    dom = get_domain(domain)
    tasks = load_tasks(tasks_path)
    if not tasks:
        fail(f"{tasks_path}: no tasks")
    db = dom.load_db(db_path)
    with _one_core() as core, console.status("benchmarking taskforge, then the naive baseline"):
        report = run_env_bench(dom.toolkit_cls, db, tasks, seconds)
    report["cpu_core"] = core
    if as_json:
        emit_json(report)
        return
    ours, base, ratio = report["taskforge"], report["baseline_naive"], report["speedup"]
    console.print(
        f"taskforge: {ours['evals_per_sec']:,.0f} evals/s "
        f"({ours['evals_per_sec_no_gold_cache']:,.0f} without the gold cache), "
        f"fresh env {ours['fresh_env_us']} µs\n"
        f"naive:     {base['evals_per_sec']:,.2f} evals/s, fresh env {base['fresh_env_us']:,} µs, "
        f"full hash {base['full_hash_ms']} ms\n"
        f"speedup:   x{ratio['evals']:,} evals (x{ratio['evals_no_gold_cache']:,} without cache), "
        f"x{ratio['fresh_env']:,} fresh env"
    )


@contextmanager
def _one_core() -> Iterator[int | None]:
    """Measure on one core, as the figures are quoted; the affinity is restored afterwards."""
    if not hasattr(os, "sched_setaffinity"):
        yield None
        return
    cores = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {min(cores)})
    try:
        yield min(cores)
    finally:
        os.sched_setaffinity(0, cores)
