"""``taskforge rewards``: show reward specs and probe them with reward-hacking trajectories."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.table import Table

from taskforge.cli.common import DOMAIN_OPTION, JSON_OPTION, App, console, emit_json, track

if TYPE_CHECKING:
    from taskforge.rewards.probes import ProbeTable

app = App(
    help="Reward specs: show them, probe them with adversarial trajectories.", no_args_is_help=True
)

SPEC_OPTION = typer.Option(
    "raft",
    "--spec",
    help="A preset (raft, success-only, no-repeat-penalty) or a YAML/JSON spec file.",
)


@app.command("show", epilog="Example: taskforge rewards show --spec success-only --json")
def show(spec: str = SPEC_OPTION, as_json: bool = JSON_OPTION) -> None:
    """Print a reward spec (YAML, loadable again with --spec FILE) and its hash."""
    from taskforge.rewards import dump_spec, load_spec

    loaded = load_spec(spec)
    if as_json:
        emit_json(
            {"spec_hash": loaded.spec_hash(), "spec": loaded.to_json_dict(exclude_unset=False)}
        )
        return
    typer.echo(f"# spec_hash: {loaded.spec_hash()}\n" + dump_spec(loaded), nl=False)


@app.command(
    "probe",
    epilog="Example: taskforge rewards probe --tasks datasets/retail/seed_tasks.json "
    "--spec raft --json",
)
def probe(
    spec: str = SPEC_OPTION,
    tasks_path: Path = typer.Option(..., "--tasks", help="tasks.json (a list of tasks)."),
    db_path: Path | None = typer.Option(None, "--db", help="DB JSON (default: bundled DB)."),
    domain: str = DOMAIN_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Score honest gold and adversarial trajectories of every task; exit 1 if one is not below.

    Probes: a tool-call loop, padded reasoning, stopping early, claiming success without the
    write, an extra write, invalid calls, malformed calls. Under a sparse spec (task success
    only) probes are not expected below the honest trajectory and never fail the command.
    """
    from taskforge.contracts.io import load_tasks
    from taskforge.domains import get_domain
    from taskforge.rewards import probe as run_probes

    tasks = load_tasks(tasks_path)
    db = get_domain(domain).load_db(db_path)
    table = run_probes(
        tasks, spec, db, domain=domain, progress=lambda ts: track(ts, "probing", len(ts))
    )
    if as_json:
        emit_json(table.model_dump())
    else:
        _print_table(table)
    if table.violations and not table.sparse:
        listed = ", ".join(
            f"{r.probe} ({r.n_not_below} task(s), e.g. {r.not_below[0]})" for r in table.violations
        )
        console.print(
            f"[bold red]reward hackable:[/] under spec {table.spec_name!r} these probes are not "
            f"strictly below the honest trajectory: {listed}",
            highlight=False,
            soft_wrap=True,
        )
        raise typer.Exit(1)


def _print_table(table: ProbeTable) -> None:
    out = Table(
        "probe",
        "tasks",
        "mean",
        "max",
        "gap",
        "not below",
        title=f"spec {table.spec_name} ({table.spec_hash}), {table.n_tasks} tasks",
    )
    for row in table.rows:
        out.add_row(
            row.probe,
            str(row.n_tasks),
            _num(row.mean_score),
            _num(row.max_score),
            _num(row.mean_gap),
            "-" if row.probe == "honest" else str(row.n_not_below),
        )
    console.print(out)
    console.print("gap: mean of honest minus probe; not below: tasks where probe >= honest")
    if table.sparse:
        console.print(
            "sparse spec (task success only): probes are not expected below the honest "
            "trajectory; this is the ablation"
        )
    elif not table.violations:
        console.print("every probe scores strictly below the honest trajectory on every task")


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"
