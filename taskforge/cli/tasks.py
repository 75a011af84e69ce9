"""``taskforge tasks``: inspect task files."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import typer
from rich.table import Table

from taskforge.cli.common import (
    DOMAIN_OPTION,
    JSON_OPTION,
    App,
    console,
    emit_json,
    track,
)
from taskforge.cli.verify import verify
from taskforge.contracts.io import load_tasks, write_tasks
from taskforge.domains import DEFAULT_DOMAIN, get_domain
from taskforge.env.audit import audit_summary, audit_task
from taskforge.synthesis.seed import sample_seed_tasks, task_kind

app = App(help="Inspect and check task files.", no_args_is_help=True)


@app.command(
    "audit", epilog="Example: taskforge tasks audit datasets/retail/seed_tasks.json --json"
)
def audit(
    tasks_path: Path = typer.Argument(..., metavar="TASKS", help="tasks.json (a list of tasks)."),
    db_path: Path | None = typer.Option(None, "--db", help="DB JSON (default: bundled DB)."),
    domain: str = DOMAIN_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Replay every task's gold actions on a fresh DB: errors (read vs write) and no-ops."""
    dom = get_domain(domain)
    tasks = load_tasks(tasks_path)
    db = dom.load_db(db_path)
    audits = [
        audit_task(dom.toolkit_cls, db, t) for t in track(tasks, "auditing", total=len(tasks))
    ]
    summary = audit_summary(audits)
    if as_json:
        emit_json({"tasks": [a.model_dump() for a in audits], "summary": summary})
        return
    table = Table("task", "gold actions", "failing action", "write?", "error", "db changed")
    for a in audits:
        for e in a.gold_errors:
            table.add_row(
                a.task_id,
                str(a.n_gold_actions),
                f"{e.action_index} {e.name}",
                "WRITE" if e.is_write else "read",
                e.error,
                str(a.db_changed),
            )
    console.print(table)
    console.print(summary)


@app.command("seed", epilog="Example: taskforge tasks seed --n 5 --out seed_tasks.json --json")
def seed(
    db_path: Path | None = typer.Option(None, "--db", help="Retail DB JSON (default: bundled)."),
    n: int = typer.Option(30, "--n", min=0, help="Number of tasks."),
    seed_value: int = typer.Option(7, "--seed", help="Random seed; same arguments, same file."),
    out: Path = typer.Option(..., "--out", help="Where to write the tasks (a JSON list)."),
    prefix: str = typer.Option("seed", "--prefix", help="Task ids are PREFIX_000, ..."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Sample naive Retail seed tasks (no injected difficulty), each checked by gold replay."""
    dom = get_domain(DEFAULT_DOMAIN)
    db = dom.load_db(db_path)
    tasks = sample_seed_tasks(db, n, seed_value, prefix)
    write_tasks(out, tasks)
    kinds = dict(sorted(Counter(task_kind(t, dom) for t in tasks).items()))
    summary = {"out": str(out), "n_tasks": len(tasks), "seed": seed_value, "kinds": kinds}
    if as_json:
        emit_json(summary)
        return
    console.print(f"wrote {len(tasks)} seed tasks to {out}")
    console.print(kinds)


app.command(
    "verify",
    help="Certify tasks: an alias of `taskforge verify`.",
    epilog="Example: taskforge tasks verify datasets/retail/seed_tasks.json --json",
)(verify)
