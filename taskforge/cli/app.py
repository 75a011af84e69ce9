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
app.command(
    "sql", epilog='Example: taskforge sql "SELECT task_id, reward FROM trajectories LIMIT 5" --json'
)(sql.sql)
app.command(
    "rollout",
    epilog="Example: taskforge rollout --tasks datasets/retail/seed_tasks.json --limit 2 "
    "--trials 1 --json",
)(rollout.rollout)
app.command(
    "mine", epilog="Example: taskforge mine --embedder hashing --min-cluster-size 2 --json"
)(mine.mine)
app.command("report", epilog="Example: taskforge report --out report.html --json")(report.report)
app.command(
    "synthesize",
    epilog="Example: taskforge synthesize --family multi_order --n 3 --embedder hashing "
    "--out targeted.json --json",
)(synthesize.synthesize)
app.command(
    "demo", epilog="Example: taskforge demo --out taskforge-demo --json  (offline, a few minutes)"
)(demo.demo)
app.command(
    "verify",
    epilog="Example: taskforge verify datasets/retail/seed_tasks.json --out certified.json --json",
)(verify.verify)
app.command(
    "loop", epilog="Example: taskforge loop --rounds 1 --out taskforge-loop --json  (offline)"
)(loop.loop)


def main() -> None:
    """Console entry point."""
    app()
