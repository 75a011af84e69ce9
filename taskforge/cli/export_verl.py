"""``taskforge export verl``: a task pool as a folder verl trains on (see trainer_adapters/verl).

One command function for the ``export`` group, with the same pool selection as the other
exporters; the adapter is imported when it runs (writing the folder needs no verl).
"""

from __future__ import annotations

import time
from pathlib import Path

import typer

from taskforge.cli.common import DOMAIN_OPTION, JSON_OPTION, WAREHOUSE_OPTION
from taskforge.cli.export import DB, OUT, POOL, ROUND, SEED, TASKS, UNION, _report, select


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
    from taskforge.env.domains import get_domain
    from taskforge.errors import DataError
    from taskforge.export.manifest import command_line
    from trainer_adapters.verl.export import VerlExportOptions, export_verl

    if db_mode not in ("inline", "file"):
        raise DataError(f"--db-mode: expected inline or file, got {db_mode!r}")
    started = time.perf_counter()
    chosen, chosen_tasks = select(pool, round_, union, tasks, warehouse, domain)
    db = get_domain(domain).load_db(db_path)
    options = VerlExportOptions(
        spec=spec,
        val_fraction=val_fraction,
        seed=seed,
        db_mode="file" if db_mode == "file" else "inline",
        user_config=user_config,
        tool_schemas=tool_schemas,
    )
    result = export_verl(chosen, chosen_tasks, db, out, options, command=command_line())
    summary = result.summary()
    summary["launch"] = (
        f"python -m trainer_adapters.verl.launch --export {out} --model MODEL --run-dir RUN "
        "--dry-run   (see README.md)"
    )
    _report(summary, started, as_json)
