"""``taskforge loop``: the cycle, round by round, resumable, recorded in the warehouse."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from taskforge.cli.common import JSON_OPTION, WAREHOUSE_OPTION, console, emit_json


def loop(
    config: Path | None = typer.Option(
        None, "--config", help="loop.yaml (default: offline, bundled DB and seed tasks)."
    ),
    rounds: int | None = typer.Option(None, "--rounds", min=1, help="Rounds (overrides config)."),
    out: Path = typer.Option(Path("taskforge-loop"), "--out", help="Folder for each round."),
    warehouse: Path | None = WAREHOUSE_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Run rollout -> mine -> synthesize -> verify -> pool -> export -> train -> ingest rounds.

    A rerun with the same config resumes after the last finished stage.
    """
    from taskforge.cli.rollout import ProgressBar, episode_progress
    from taskforge.loop import load_loop_config, run_loop

    settings = load_loop_config(config, rounds=rounds)
    where = warehouse or out / "taskforge.duckdb"
    with episode_progress() as progress:
        summary = run_loop(settings, where, out, _progress, progress=ProgressBar(progress))
    if as_json:
        emit_json(summary)
    else:
        print_rounds(summary)


def _progress(round_: int, stage: str, what: str) -> None:
    if what != "done":
        console.print(f"round {round_}: {stage}" + (" (already done)" if what == "resumed" else ""))


def print_rounds(summary: dict[str, Any]) -> None:
    """The per-round table, then each round's failures per mined pattern."""
    from rich import box
    from rich.table import Table

    # no vertical rules, one space between columns: all ten stay whole at 80 columns
    table = Table(
        title=f"taskforge loop {summary['loop_id']}", box=box.SIMPLE_HEAD, padding=(0, 1, 0, 0)
    )
    headers = ("round", "pass^1", "pass^2", "pass^4", "fails", "patterns", "added", "pool",
               "accept", "train")  # fmt: skip
    for header in headers:
        table.add_column(header, justify="right" if header != "train" else "left")
    for row in summary["rounds"]:
        pk = row["pass_k"]
        failures = row["failures_by_pattern"]
        table.add_row(
            str(row["round"]),
            *(f"{pk[k]:.3f}" if pk.get(k) is not None else "-" for k in ("1", "2", "4")),
            str(sum(failures.values())),
            str(len(failures)),
            str(row["tasks_added"]),
            str(row["pool_size"]),
            "-" if row["acceptance_rate"] is None else f"{row['acceptance_rate']:.0%}",
            row["train"],
        )
    console.print(table)
    for row in summary["rounds"]:
        patterns = "; ".join(f"{n} ({c})" for n, c in row["failures_by_pattern"].items())
        console.print(f"round {row['round']} patterns: {patterns or 'none'}", soft_wrap=True)
