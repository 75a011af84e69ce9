"""``taskforge eval``: recompute rewards of recorded simulations."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from taskforge.cli.common import DOMAIN_OPTION, JSON_OPTION, App, console, emit_json, track
from taskforge.contracts.io import load_results
from taskforge.domains import get_domain

app = App(help="Re-evaluate recorded episodes.", no_args_is_help=True)

_COLUMNS = (
    ("simulation", "simulation_id"),
    ("task", "task_id"),
    ("trial", "trial"),
    ("DB rec.", "recorded_db_reward"),
    ("DB new", "recomputed_db_reward"),
    ("DB ok", "agree"),
    ("total rec.", "recorded_reward"),
    ("total new", "recomputed_reward"),
    ("total ok", "reward_agree"),
)
"""Table columns: title and row key (rec.: recorded, new: recomputed, ok: they agree)."""


@app.command(
    "tau2-results",
    epilog="Example: taskforge eval tau2-results data/simulations/my_run.json --json  "
    "(a tau2-bench results file)",
)
def tau2_results(
    results_path: Path = typer.Argument(..., metavar="RESULTS", help="tau2 results JSON."),
    db_path: Path | None = typer.Option(None, "--db", help="DB the run used (tau2's db.json)."),
    llm_config: Path | None = typer.Option(
        None,
        "--llm-config",
        help="LLM config whose judge role decides NL assertions (an offline judge: skipped).",
    ),
    domain: str = DOMAIN_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Recompute the DB and total reward of every simulation and compare them with the recorded."""
    from taskforge.rewards.nl_agreement import nl_agreement
    from taskforge.rewards.nl_judge import nl_judge_from_config

    dom = get_domain(domain)
    results = load_results(results_path)
    judge = nl_judge_from_config(llm_config) if llm_config is not None else None
    report = nl_agreement(
        results,
        dom.toolkit_cls,
        dom.load_db(db_path),
        judge,
        source=str(results_path),
        progress=lambda sims: track(sims, "evaluating", total=len(sims)),
    )
    if as_json:
        emit_json(report)
        return
    _print(report)


def _print(report: dict[str, Any]) -> None:
    table = Table(*(title for title, _ in _COLUMNS))
    for row in report["simulations"]:
        table.add_row(*(str(row[key]) for _, key in _COLUMNS))
    console.print(table)
    s = report["summary"]
    n = s["n"]
    console.print(f"{s['agree']}/{n} DB rewards agree")
    if s["nl_judge"] is None:
        judged = f"NL assertions skipped in {s['nl_skipped']}: no judge, see --llm-config"
    else:
        judged = f"NL assertions judged by {s['nl_judge']}"
    console.print(f"{s['reward_agree']}/{n} total rewards agree ({judged})")
    console.print(
        f"fixed verdicts would give: all met {s['fixed_all_met_agree']}/{n}, "
        f"none met {s['fixed_none_met_agree']}/{n}"
    )
    stats = s["judge_stats"]
    if stats:
        console.print(
            f"judge: {s['nl_assertions_met']}/{s['nl_assertions_judged']} assertions met, "
            f"{stats['calls']} calls, {stats['unparseable']} unparseable, {stats['errors']} failed"
        )
