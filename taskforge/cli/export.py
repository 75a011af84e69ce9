"""``taskforge export``: task pools out, as Hugging Face datasets, tau2 task sets or verl folders.

Every exporter takes the same pool selection (``--pool NAME [--round R] [--union]`` from the
warehouse, or ``--tasks FILE`` with no warehouse) and the DB the tasks run on; a new exporter
is one more command here that calls :func:`select` and writes with its own function.
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path
from typing import Any

import typer

from taskforge.cli.common import (
    DOMAIN_OPTION,
    JSON_OPTION,
    WAREHOUSE_OPTION,
    App,
    console,
    emit_json,
    fail,
)

app = App(
    help="Export task pools (Hugging Face, tau2, verl), tau2 results, or the warehouse.",
    no_args_is_help=True,
)

POOL = typer.Option(None, "--pool", help="Pool name in the warehouse.")
ROUND = typer.Option(None, "--round", min=0, help="Pool round (default: the latest).")
UNION = typer.Option(
    None,
    "--union/--round-only",
    help="RAFT's union of rounds up to --round (default: the round's own mode).",
    show_default=False,
)
TASKS = typer.Option(None, "--tasks", help="A tasks file instead of a stored pool.")
DB = typer.Option(
    None,
    "--db",
    help="DB the tasks run on (default: the one their certificates name, else bundled).",
)
OUT = typer.Option(..., "--out", help="Export folder (replaced whole).")
SPLITS = typer.Option(None, "--split", help="NAME=FRACTION (repeatable).")
SEED = typer.Option(0, "--seed", help="Seed of the split assignment.")
SPEC = typer.Option(None, "--spec", help="Reward spec file; its SHA-256 goes into the manifest.")


def select(
    pool: str | None,
    round_: int | None,
    union: bool | None,
    tasks: Path | None,
    warehouse: Path | None,
    domain: str,
) -> tuple[Any, list[Any]]:
    """The pool to export and its active tasks."""
    from taskforge.pool import pool_from_tasks, select_pool
    from taskforge.warehouse import Warehouse

    if (pool is None) == (tasks is None):
        fail("give exactly one of --pool NAME (from the warehouse) or --tasks FILE")
    if tasks is not None:
        from taskforge.contracts.io import load_tasks

        made = pool_from_tasks(pool or tasks.stem, round_ or 0, load_tasks(tasks), domain)
        return made, load_tasks(tasks)
    with Warehouse.open(warehouse, read_only=True) as wh:
        return select_pool(wh, str(pool), round_, union)


def _common(
    db_path: Path | None, domain: str, spec: Path | None, tasks: list[Any]
) -> tuple[Any, str | None]:
    from taskforge.export.common import export_db

    db = export_db(db_path, domain, tasks)
    spec_hash = hashlib.sha256(spec.read_bytes()).hexdigest() if spec else None
    return db, spec_hash


def _report(summary: dict[str, Any], started: float, as_json: bool) -> None:
    summary["seconds"] = round(time.perf_counter() - started, 3)
    if as_json:
        emit_json(summary)
        return
    console.print(
        f"exported {summary['n_tasks']} tasks of pool {summary['pool']} round "
        f"{summary['round']} ({summary['mode']}) to {summary['out']}: {summary['splits']}, "
        f"{summary['bytes']:,} bytes in {summary['seconds']} s"
    )
    if summary.get("pushed"):
        console.print(f"pushed: {summary['pushed']}")


@app.command("hf", epilog="Example: taskforge export hf --pool retail --out export-hf --json")
def hf(
    pool: str | None = POOL,
    round_: int | None = ROUND,
    union: bool | None = UNION,
    tasks: Path | None = TASKS,
    db_path: Path | None = DB,
    out: Path = OUT,
    split: list[str] | None = SPLITS,
    seed: int = SEED,
    spec: Path | None = SPEC,
    license_: str = typer.Option("mit", "--license", help="License in the dataset card."),
    push: str | None = typer.Option(
        None, "--push", help="Upload to this Hugging Face dataset repo (token: $HF_TOKEN)."
    ),
    private: bool = typer.Option(False, "--private", help="Create the repo private."),
    domain: str = DOMAIN_OPTION,
    warehouse: Path | None = WAREHOUSE_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Parquet shards per split, a dataset card and the manifest (train 0.9 / validation 0.1)."""
    from taskforge.export import DEFAULT_SPLITS, export_hf, parse_splits, push_to_hub
    from taskforge.export.manifest import command_line

    started = time.perf_counter()
    chosen, chosen_tasks = select(pool, round_, union, tasks, warehouse, domain)
    db, spec_hash = _common(db_path, domain, spec, chosen_tasks)
    splits = parse_splits(split) if split else DEFAULT_SPLITS
    result = export_hf(
        chosen,
        chosen_tasks,
        db,
        out,
        splits,
        seed,
        command=command_line(),
        spec_hash=spec_hash,
        license_=license_,
    )
    summary = result.summary()
    if push:
        summary["pushed"] = push_to_hub(out, push, private=private)
    _report(summary, started, as_json)


@app.command("tau2", epilog="Example: taskforge export tau2 --pool retail --out export-tau2 --json")
def tau2(
    pool: str | None = POOL,
    round_: int | None = ROUND,
    union: bool | None = UNION,
    tasks: Path | None = TASKS,
    db_path: Path | None = DB,
    out: Path = OUT,
    split: list[str] | None = SPLITS,
    seed: int = SEED,
    spec: Path | None = SPEC,
    policy: Path | None = typer.Option(
        None, "--policy", help="Agent policy to ship (default: taskforge's own for the domain)."
    ),
    domain: str = DOMAIN_OPTION,
    warehouse: Path | None = WAREHOUSE_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """tasks.json, split_tasks.json, db.json and policy.md in tau2's layout (TAU2_DATA_DIR=OUT)."""
    from taskforge.export import TAU2_SPLITS, export_tau2, parse_splits
    from taskforge.export.manifest import command_line

    started = time.perf_counter()
    chosen, chosen_tasks = select(pool, round_, union, tasks, warehouse, domain)
    db, spec_hash = _common(db_path, domain, spec, chosen_tasks)
    splits = parse_splits(split) if split else TAU2_SPLITS
    text = policy.read_text(encoding="utf-8") if policy else None
    result = export_tau2(
        chosen,
        chosen_tasks,
        db,
        out,
        splits,
        seed,
        policy=text,
        command=command_line(),
        spec_hash=spec_hash,
    )
    _report(result.summary(), started, as_json)


@app.command("verl", epilog="Example: taskforge export verl --pool retail --out export-verl --json")
def verl(
    pool: str | None = POOL,
    round_: int | None = ROUND,
    union: bool | None = UNION,
    tasks: Path | None = TASKS,
    db_path: Path | None = DB,
    out: Path = OUT,
    spec: str = typer.Option("raft", "--spec", help="Reward spec: preset name or spec file."),
    val_fraction: float = typer.Option(0.1, "--val-fraction", help="Share of validation rows."),
    seed: int = SEED,
    db_mode: str = typer.Option(
        "inline", "--db-mode", help="inline: the DB in every row (JSON); file: rows name a DB file."
    ),
    user_config: Path | None = typer.Option(
        None, "--user-config", help="LLM config whose user role plays the user (default offline)."
    ),
    tool_schemas: Path | None = typer.Option(
        None, "--tool-schemas", help="Exact substitute tool schemas (JSON list) to train on."
    ),
    domain: str = DOMAIN_OPTION,
    warehouse: Path | None = WAREHOUSE_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """verl GRPO: train/val parquet, reward spec, tool and agent-loop configs, launch README."""
    from taskforge.errors import DataError
    from taskforge.export.common import export_db
    from taskforge.export.manifest import command_line
    from taskforge.loop.trainer import load_exporter

    if db_mode not in ("inline", "file"):
        raise DataError(f"--db-mode: expected inline or file, got {db_mode!r}")
    started = time.perf_counter()
    chosen, chosen_tasks = select(pool, round_, union, tasks, warehouse, domain)
    db = export_db(db_path, domain, chosen_tasks)
    result = load_exporter("verl")(
        chosen,
        chosen_tasks,
        db,
        out,
        command=command_line(),
        spec=spec,
        val_fraction=val_fraction,
        seed=seed,
        db_mode=db_mode,
        user_config=user_config,
        tool_schemas=tool_schemas,
    )
    summary = result.summary()
    summary["launch"] = (
        f"python -m trainer_adapters.verl.launch --export {out} --model MODEL --run-dir RUN "
        "--dry-run   (see README.md)"
    )
    _report(summary, started, as_json)


@app.command(
    "tau2-results",
    epilog="Example: taskforge export tau2-results --source results.json --out back.json --json",
)
def tau2_results(
    run: str | None = typer.Option(
        None, "--run", help="Run id (taskforge sql 'SELECT * FROM runs')."
    ),
    source: Path | None = typer.Option(
        None, "--source", help="Or: the tau2 file it was ingested from."
    ),
    out: Path = typer.Option(..., "--out", help="Results file to write."),
    warehouse: Path | None = WAREHOUSE_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """An ingested tau2 run back as tau2's results JSON: the same bytes as the file ingested."""
    from taskforge.export.tau2_results import export_tau2_results
    from taskforge.warehouse import Warehouse

    if (run is None) == (source is None):
        fail("give exactly one of --run RUN_ID or --source FILE (the file that was ingested)")
    started = time.perf_counter()
    with Warehouse.open(warehouse, read_only=True) as wh:
        run_id = run or _run_of(wh, Path(str(source)))
        summary = export_tau2_results(wh, run_id, out).summary()
    summary["seconds"] = round(time.perf_counter() - started, 3)
    if as_json:
        emit_json(summary)
        return
    same = {True: "same bytes as", False: "differs from", None: "cannot compare with"}
    console.print(
        f"exported run {run_id}: {summary['n_tasks']} tasks, {summary['n_simulations']} "
        f"simulations, {summary['bytes']:,} bytes to {out} "
        f"({same[summary['same_as_source']]} {summary['source_path']})",
        markup=False,
    )
    for what in summary["missing"]:
        console.print(f"missing (not landed): {what}", markup=False)
    for why in summary["inexact"]:
        console.print(f"not byte-equal: {why}", markup=False)


def _run_of(wh: Any, source: Path) -> str:
    """The run ingested from ``source`` (as given, or resolved)."""
    from taskforge.errors import DataError

    paths = [str(source), str(source.resolve())]
    rows = wh.con.execute(
        "SELECT DISTINCT run_id FROM source_layouts WHERE source_path IN (?, ?)", paths
    ).fetchall()
    if len(rows) != 1:
        found = "no run" if not rows else f"{len(rows)} runs"
        raise DataError(f"{source}: {found} ingested from this path; give --run RUN_ID")
    return str(rows[0][0])


@app.command("parquet", epilog="Example: taskforge export parquet --out warehouse-parquet --json")
def parquet(
    out: Path = typer.Option(..., "--out", help="Folder of <table>/*.parquet (tables replaced)."),
    warehouse: Path | None = WAREHOUSE_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """The warehouse's tables as parquet shards, for ``taskforge sql --parquet`` and DuckDB."""
    from taskforge.warehouse import Warehouse
    from taskforge.warehouse.parquet import export_parquet

    with Warehouse.open(warehouse, read_only=True) as wh:
        counts = export_parquet(wh, out)
        source = str(wh.path)
    if as_json:
        emit_json({"out": str(out), "warehouse": source, "tables": counts})
        return
    console.print(f"{len(counts)} tables, {sum(counts.values()):,} rows -> {out}", soft_wrap=True)
