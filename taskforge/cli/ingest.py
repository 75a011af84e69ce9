"""``taskforge ingest``: trajectories into the warehouse, one transaction per file."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.progress import Progress
from rich.text import Text

from taskforge.cli.common import (
    EXIT_USER_ERROR,
    JSON_OPTION,
    WAREHOUSE_OPTION,
    App,
    console,
    emit_json,
    report_error,
)

if TYPE_CHECKING:
    from taskforge.warehouse.ingest import FileResult

app = App(
    help="Load trajectories into the warehouse (idempotent, all-or-nothing per file).",
    no_args_is_help=True,
)

PATHS = typer.Argument(..., help="Files or folders.", exists=False)
SKIP_BAD = typer.Option(
    False, "--skip-bad", help="Quarantine bad records (with the reason) and land the rest."
)


def _ingest(
    fmt: str, paths: list[Path], warehouse: Path | None, skip_bad: bool, as_json: bool
) -> None:
    from taskforge.warehouse import Warehouse, get_adapter, ingest_paths, input_files
    from taskforge.warehouse.ingest import auto_workers
    from taskforge.warehouse.store import resolve_path

    adapter = get_adapter(fmt)
    files = input_files(adapter, paths)
    target = resolve_path(warehouse)
    with Warehouse.open(target) as wh:
        before = wh.counts()
    with Progress(console=console, transient=True) as progress:
        bar = progress.add_task(f"ingesting {len(files)} file(s)", total=len(files))
        results = ingest_paths(
            target, adapter, files, skip_bad, lambda _r: progress.advance(bar), auto_workers(files)
        )
    with Warehouse.open(target, read_only=True) as wh:
        after = wh.counts()
    _report(target, results, before, after, as_json)


QUARANTINE_QUERY = "SELECT source_path, record_index, record_id, reason FROM quarantine"


def _report(
    path: Path,
    results: list[FileResult],
    before: dict[str, int],
    after: dict[str, int],
    as_json: bool,
) -> None:
    summary = _summary(path, results, before, after)
    refused = [r.path for r in results if r.all_quarantined]
    if refused:
        summary["error"] = f"{refused[0]}: every record was quarantined, nothing landed" + (
            f" (+{len(refused) - 1} more such files)" if len(refused) > 1 else ""
        )
        summary["hint"] = summary["list_quarantined"]
    if as_json:
        emit_json(summary)
    else:
        _print_summary(summary)
    if refused:
        raise typer.Exit(EXIT_USER_ERROR)


def _summary(
    path: Path, results: list[FileResult], before: dict[str, int], after: dict[str, int]
) -> dict[str, Any]:
    added = {t: after[t] - before[t] for t in after if after[t] != before[t]}
    quarantined = sum(r.n_quarantined for r in results)
    return {
        "warehouse": str(path),
        "files": len(results),
        "files_already_ingested": sum(r.already_ingested for r in results),
        "trajectories_seen": sum(r.n_trajectories for r in results),
        "trajectories_new": sum(r.n_new for r in results),
        "quarantined": quarantined,
        "files_with_quarantined": sum(bool(r.n_quarantined) for r in results),
        "list_quarantined": f'taskforge sql "{QUARANTINE_QUERY}"' if quarantined else None,
        "rows_added": added,
        "warnings": [w for r in results for w in r.warnings],
    }


def _print_summary(summary: dict[str, Any]) -> None:
    """The summary line (printed as written: paths and commands are never markup)."""
    for warning in summary["warnings"]:
        console.print(Text.assemble(("warning:", "bold yellow"), " ", warning), soft_wrap=True)
    line = (
        f"{summary['files']} file(s) ({summary['files_already_ingested']} already ingested): "
        f"{summary['trajectories_new']} new of {summary['trajectories_seen']} trajectories, "
        f"{summary['quarantined']} quarantined -> {summary['warehouse']}"
    )
    console.print(Text(line), soft_wrap=True)
    if summary["quarantined"]:
        console.print(
            Text(
                f"{summary['quarantined']} record(s) quarantined, to be read again by the next "
                f"ingest of their file; list them: {summary['list_quarantined']}"
            ),
            soft_wrap=True,
        )
    if "error" in summary:
        report_error(summary["error"], summary["hint"])


@app.command(
    "tau2",
    epilog="Example: taskforge ingest tau2 data/simulations/my_run.json --json  "
    "(a tau2-bench results file)",
)
def tau2(
    paths: list[Path] = PATHS,
    warehouse: Path | None = WAREHOUSE_OPTION,
    skip_bad: bool = SKIP_BAD,
    as_json: bool = JSON_OPTION,
) -> None:
    """tau2-bench results: JSON files, or dir-format folders (results.json + simulations/)."""
    _ingest("tau2", paths, warehouse, skip_bad, as_json)


@app.command(
    "jsonl",
    epilog="Example: taskforge ingest jsonl rollouts/ --json  (the shards of `taskforge rollout`)",
)
def jsonl(
    paths: list[Path] = PATHS,
    warehouse: Path | None = WAREHOUSE_OPTION,
    skip_bad: bool = SKIP_BAD,
    as_json: bool = JSON_OPTION,
) -> None:
    """taskforge JSONL files, or folders of shards (only shards not seen before are read)."""
    _ingest("jsonl", paths, warehouse, skip_bad, as_json)


@app.command(
    "verl",
    epilog="Example: taskforge ingest verl run/rollout_data --skip-bad --json  (a verl run folder)",
)
def verl(
    paths: list[Path] = PATHS,
    warehouse: Path | None = WAREHOUSE_OPTION,
    skip_bad: bool = SKIP_BAD,
    as_json: bool = JSON_OPTION,
) -> None:
    """verl training rollouts (a run's rollout_data folder), with task ids and training steps.

    Reads both the taskforge agent loop's own episodes and verl's rollout dumps.
    """
    _ingest("verl", paths, warehouse, skip_bad, as_json)
