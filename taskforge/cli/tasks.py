"""``taskforge tasks``: inspect task files."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from taskforge.cli.common import DOMAIN_OPTION, JSON_OPTION, App, console, emit_json, track
from taskforge.contracts.io import load_tasks
from taskforge.env.audit import audit_summary, audit_task
from taskforge.env.domains import get_domain

app = App(help="Inspect and check task files.", no_args_is_help=True)


@app.command("audit")
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
