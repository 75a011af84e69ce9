"""``taskforge pool``: task pools per round, with lineage and a curriculum."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import typer
from rich.table import Table

from taskforge.cli.common import (
    DOMAIN_OPTION,
    JSON_OPTION,
    WAREHOUSE_OPTION,
    App,
    console,
    emit_json,
    fail,
)

if TYPE_CHECKING:
    from taskforge.contracts import PoolMode

app = App(
    help="Task pools: one per round, with lineage, RAFT's union and a curriculum.",
    no_args_is_help=True,
)

NAME = typer.Option(..., "--name", help="Pool name.")
ROUND = typer.Option(..., "--round", min=0, help="Round of the pool.")
MODE = typer.Option(None, "--mode", help="on-policy (this round's tasks) or raft-union.")
BAND = typer.Option(
    None, "--band", help="Keep tasks with LO <= pass rate <= HI (e.g. --band 0.05 0.95)."
)
MIN_TRIALS = typer.Option(None, "--min-trials", min=1, help="Trials before the band acts [2].")
QUOTA = typer.Option(
    None, "--quota", help="PATTERN=N: most active tasks per pattern ('*' = any other)."
)
RETIRE = typer.Option(
    None, "--retire-after", min=0, help="Retire tasks fully solved in their last N evaluations."
)
SEED = typer.Option(None, "--curriculum-seed", help="Seed of the quota sampling [0].")
RUNS = typer.Option(None, "--run", help="Runs that count as evidence (repeatable; default all).")


def _quotas(specs: list[str]) -> dict[str, int]:
    out = {}
    for spec in specs:
        pattern, _, value = spec.rpartition("=")
        if not pattern or not value.isdigit():
            fail(f"--quota {spec!r}: expected PATTERN=N, e.g. wrong_order=20")
        out[pattern] = int(value)
    return out


def curriculum_from_options(
    band: tuple[float, float] | None,
    min_trials: int | None,
    quota: list[str] | None,
    retire_after: int | None,
    seed: int | None,
    runs: list[str] | None,
) -> Any:
    """A Curriculum from the command line, or None when no option was given."""
    from pydantic import ValidationError

    from taskforge.contracts import Curriculum

    given = {
        "pass_band": band if band and None not in band else None,
        "min_trials": min_trials,
        "quotas": _quotas(quota) if quota else None,
        "retire_after": retire_after,
        "seed": seed,
        "runs": runs or None,
    }
    given = {k: v for k, v in given.items() if v is not None}
    if not given:
        return None
    try:
        return Curriculum(**given)
    except ValidationError as exc:
        fail(f"curriculum: {exc.errors()[0]['msg']}")


def _task_file(path: Path) -> dict[str, str]:
    return {"path": str(path), "sha256": hashlib.sha256(path.read_bytes()).hexdigest()}


@app.command(
    "add", epilog="Example: taskforge pool add --name retail --round 1 --tasks targeted.json --json"
)
def add(
    name: str = NAME,
    round_: int = ROUND,
    tasks: list[Path] = typer.Option(..., "--tasks", help="Tasks file(s) to add (repeatable)."),
    mode: str | None = MODE,
    band: tuple[float, float] | None = BAND,
    min_trials: int | None = MIN_TRIALS,
    quota: list[str] | None = QUOTA,
    retire_after: int | None = RETIRE,
    seed: int | None = SEED,
    runs: list[str] | None = RUNS,
    domain: str = DOMAIN_OPTION,
    warehouse: Path | None = WAREHOUSE_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Add tasks from files to a pool round (tasks are stored too); idempotent."""
    from taskforge.contracts.io import load_tasks

    loaded = [t for path in tasks for t in load_tasks(path)]
    config = {"task_files": [_task_file(p) for p in tasks]}
    cur = curriculum_from_options(band, min_trials, quota, retire_after, seed, runs)
    _build(name, round_, loaded, cur, mode, domain, warehouse, config, as_json)


@app.command(
    "build", epilog="Example: taskforge pool build --name retail --round 1 --band 0.05 0.95 --json"
)
def build(
    name: str = NAME,
    round_: int = ROUND,
    mode: str | None = MODE,
    band: tuple[float, float] | None = BAND,
    min_trials: int | None = MIN_TRIALS,
    quota: list[str] | None = QUOTA,
    retire_after: int | None = RETIRE,
    seed: int | None = SEED,
    runs: list[str] | None = RUNS,
    warehouse: Path | None = WAREHOUSE_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Re-apply the curriculum (given, else the round's own) on today's evidence."""
    cur = curriculum_from_options(band, min_trials, quota, retire_after, seed, runs)
    _build(name, round_, [], cur, mode, None, warehouse, {}, as_json)


def _build(
    name: str,
    round_: int,
    tasks: list[Any],
    cur: Any,
    mode: str | None,
    domain: str | None,
    warehouse: Path | None,
    config: dict[str, Any],
    as_json: bool,
) -> None:
    from taskforge.export.manifest import command_line
    from taskforge.pool import build_pool
    from taskforge.warehouse import Warehouse

    if mode not in (None, "on-policy", "raft-union"):
        fail(f"--mode {mode!r}: expected on-policy or raft-union")
    with Warehouse.open(warehouse) as wh:
        before = wh.counts()
        pool = build_pool(
            wh,
            name,
            round_,
            tasks,
            cur,
            mode=cast("PoolMode | None", mode),
            domain=domain,
            command=command_line(),
            config=config,
        )
        after = wh.counts()
    summary = {
        **pool.summary(),
        "rows_added": {t: after[t] - before[t] for t in after if after[t] != before[t]},
    }
    _print(summary, as_json)


def _print(summary: dict[str, Any], as_json: bool) -> None:
    if as_json:
        emit_json(summary)
        return
    console.print(
        f"pool {summary['name']} round {summary['round']} ({summary['mode']}): "
        f"{summary['n_active']} of {summary['n_entries']} tasks active {summary['by_status']}"
    )
    console.print(f"per pattern: {summary['by_pattern']}")
    console.print(f"certificate coverage: {summary['certificate_coverage']}")


@app.command("show", epilog="Example: taskforge pool show --name retail --union --json")
def show(
    name: str = typer.Option(..., "--name", help="Pool name."),
    round_: int | None = typer.Option(None, "--round", help="Round (default: the latest)."),
    union: bool = typer.Option(False, "--union", help="RAFT's union of rounds up to --round."),
    entries: bool = typer.Option(False, "--entries", help="List every entry."),
    warehouse: Path | None = WAREHOUSE_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """A pool round (or the union of rounds): counts, curriculum, entries."""
    from taskforge.pool import load_pool, union_pool
    from taskforge.warehouse import Warehouse

    with Warehouse.open(warehouse, read_only=True) as wh:
        pool, _ = union_pool(wh, name, round_) if union else load_pool(wh, name, round_)
    if as_json:
        emit_json({"summary": pool.summary(), "pool": pool.model_dump(mode="json")})
        return
    _print(pool.summary(), False)
    if entries:
        table = Table("task", "round", "pattern", "status", "pass rate", "trials", "reason")
        for e in pool.entries:
            rate = "-" if e.pass_rate is None else f"{e.pass_rate:.2f}"
            table.add_row(
                e.task_id,
                str(e.round),
                e.pattern or "-",
                e.status,
                rate,
                str(e.n_trials),
                e.reason or "",
            )
        console.print(table)


@app.command("list", epilog="Example: taskforge pool list --json")
def list_(warehouse: Path | None = WAREHOUSE_OPTION, as_json: bool = JSON_OPTION) -> None:
    """Every pool round in the warehouse."""
    from taskforge.pool import list_pools
    from taskforge.warehouse import Warehouse

    with Warehouse.open(warehouse, read_only=True) as wh:
        rows = list_pools(wh)
    if as_json:
        emit_json(rows)
        return
    table = Table("pool", "round", "mode", "tasks", "active", "created")
    for r in rows:
        table.add_row(
            r["pool"],
            str(r["round"]),
            r["mode"] or "-",
            str(r["n_entries"]),
            str(r["n_active"]),
            str(r["created_at"]),
        )
    console.print(table)
