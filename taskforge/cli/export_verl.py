"""``taskforge export verl``: a task pool as a folder verl trains on (see trainer_adapters/verl).

The command is one function, :func:`verl`, for the ``export`` command group; the adapter is
imported when it runs (it needs no verl to write the folder).
"""

from __future__ import annotations

from pathlib import Path

import typer

from taskforge.cli.common import DOMAIN_OPTION, JSON_OPTION, console, emit_json


def verl(
    out: Path = typer.Option(..., "--out", help="Folder to write (created; rewritten in place)."),
    tasks: Path = typer.Option(..., "--tasks", help="Task file (JSON list, tau2 format)."),
    db: Path | None = typer.Option(None, "--db", help="The tasks' DB (default: bundled)."),
    spec: str = typer.Option("raft", "--spec", help="Reward spec: preset name or file."),
    val_fraction: float = typer.Option(0.1, "--val-fraction", help="Share of validation rows."),
    seed: int = typer.Option(0, "--seed", help="Seed of the split and the user simulator."),
    db_mode: str = typer.Option(
        "inline", "--db-mode", help="inline: the DB in every row (JSON); file: rows name a DB file."
    ),
    user_config: Path | None = typer.Option(
        None, "--user-config", help="LLM config whose user role plays the user (default offline)."
    ),
    tool_schemas: Path | None = typer.Option(
        None, "--tool-schemas", help="Exact substitute tool schemas (JSON list) to train on."
    ),
    round_: int | None = typer.Option(None, "--round", help="Loop round of the pool."),
    domain: str = DOMAIN_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Export tasks for verl GRPO: parquet, reward spec, tool and agent-loop configs, README."""
    from taskforge.contracts.io import load_tasks
    from taskforge.env.domains import get_domain
    from taskforge.errors import DataError
    from trainer_adapters.verl.export import ExportRequest, export_verl

    if db_mode not in ("inline", "file"):
        raise DataError(f"--db-mode: expected inline or file, got {db_mode!r}")
    dom = get_domain(domain)
    request = ExportRequest(
        tasks=load_tasks(tasks),
        db=dom.load_db(db),
        domain=dom,
        out=out,
        spec=spec,
        val_fraction=val_fraction,
        seed=seed,
        db_mode="file" if db_mode == "file" else "inline",
        user_config=user_config,
        tool_schemas=tool_schemas,
        round=round_,
        source={"tasks": str(tasks), "db": str(db) if db else None, "spec": spec},
    )
    manifest = export_verl(request)
    if as_json:
        emit_json({"out": str(out), **manifest})
        return
    counts = manifest["counts"]
    console.print(
        f"{manifest['n_tasks']} tasks ({counts['train']} train, {counts['val']} val), "
        f"reward spec {manifest['reward_spec']['name']} -> {out}; launch: see {out}/README.md"
    )
