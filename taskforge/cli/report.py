"""``taskforge report``: one self-contained HTML file with runs, patterns, pass^k, exemplars."""

from __future__ import annotations

from pathlib import Path

import typer

from taskforge.cli.common import JSON_OPTION, WAREHOUSE_OPTION, emit_json
from taskforge.contracts.io import write_atomic


def report(
    out: Path = typer.Option(Path("report.html"), "--out", help="HTML file to write."),
    warehouse: Path | None = WAREHOUSE_OPTION,
    taxonomy: str | None = typer.Option(
        None, "--taxonomy", help="Taxonomy id to describe (default: the latest)."
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """Write an HTML report: pass^k per run, pattern sizes per round, the taxonomy, exemplars."""
    from taskforge.mining.report import count_patterns, render_report
    from taskforge.warehouse import Warehouse

    with Warehouse.open(warehouse, read_only=True) as wh:
        document = render_report(wh, taxonomy)
        n_patterns = count_patterns(wh, taxonomy)
    data = document.encode("utf-8")
    write_atomic(out, data)
    if as_json:
        emit_json({"out": str(out), "bytes": len(data), "patterns": n_patterns})
    else:
        typer.echo(str(out))
