"""``taskforge eval``: recompute rewards of recorded simulations."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from taskforge.cli.common import DOMAIN_OPTION, JSON_OPTION, App, console, emit_json, fail, track
from taskforge.contracts.io import load_results
from taskforge.env.domains import get_domain
from taskforge.env.evaluator import Evaluator

app = App(help="Re-evaluate recorded episodes.", no_args_is_help=True)


@app.command("tau2-results")
def tau2_results(
    results_path: Path = typer.Argument(..., metavar="RESULTS", help="tau2 results JSON."),
    db_path: Path | None = typer.Option(None, "--db", help="DB the run used (tau2's db.json)."),
    domain: str = DOMAIN_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Recompute the DB reward of every simulation and compare it with the recorded one."""
    dom = get_domain(domain)
    results = load_results(results_path)
    evaluator = Evaluator(dom.toolkit_cls, dom.load_db(db_path))
    tasks = {t.id: t for t in results.tasks}
    rows: list[dict[str, Any]] = []
    for sim in track(results.simulations, "evaluating", total=len(results.simulations)):
        if sim.task_id not in tasks:
            fail(
                f"{results_path}: simulation {sim.id}: field task_id: unknown task {sim.task_id!r}"
            )
        info = evaluator.evaluate_trajectory(tasks[sim.task_id], sim)
        recorded = sim.reward_info.db_check if sim.reward_info else None
        before = recorded.db_reward if recorded else None
        after = info.db_check.db_reward if info.db_check else None
        rows.append(
            {
                "simulation_id": sim.id,
                "task_id": sim.task_id,
                "trial": sim.trial,
                "recorded_db_reward": before,
                "recomputed_db_reward": after,
                "agree": before == after,
            }
        )
    summary = {"n": len(rows), "agree": sum(r["agree"] for r in rows)}
    if as_json:
        emit_json({"simulations": rows, "summary": summary})
        return
    table = Table("simulation", "task", "trial", "recorded", "recomputed", "agree")
    for r in rows:
        table.add_row(
            *(
                str(r[k])
                for k in (
                    "simulation_id",
                    "task_id",
                    "trial",
                    "recorded_db_reward",
                    "recomputed_db_reward",
                    "agree",
                )
            )
        )
    console.print(table)
    console.print(f"{summary['agree']}/{summary['n']} DB rewards agree")
