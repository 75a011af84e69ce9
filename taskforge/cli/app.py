"""The ``taskforge`` command: one typer app, one module per command group."""

from __future__ import annotations

from taskforge.cli import (
    bench,
    db,
    demo,
    eval,
    export,
    ingest,
    loop,
    mine,
    pool,
    report,
    rewards,
    rollout,
    schemas,
    serve,
    sql,
    synthesize,
    tasks,
    tools,
    verify,
)
from taskforge.cli.common import App

app = App(
    name="taskforge",
    help="Train tool-using agents on their own failures: mine, synthesize, verify, export.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(db.app, name="db")
app.add_typer(tasks.app, name="tasks")
app.add_typer(eval.app, name="eval")
app.add_typer(bench.app, name="bench")
app.add_typer(schemas.app, name="schemas")
app.add_typer(tools.app, name="tools")
app.add_typer(ingest.app, name="ingest")
app.add_typer(rewards.app, name="rewards")
app.add_typer(pool.app, name="pool")
app.add_typer(export.app, name="export")
app.add_typer(serve.app, name="serve")
app.command("sql")(sql.sql)
app.command("rollout")(rollout.rollout)
app.command("mine")(mine.mine)
app.command("report")(report.report)
app.command("synthesize")(synthesize.synthesize)
app.command("demo")(demo.demo)
app.command("verify")(verify.verify)
app.command("loop")(loop.loop)


def main() -> None:
    """Console entry point."""
    app()
