"""``taskforge sql``: read-only SQL over the warehouse."""

from __future__ import annotations

import csv
import sys
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape
from rich.table import Table

from taskforge.cli.common import WAREHOUSE_OPTION, console, emit_json, fail


def sql(
    query: str | None = typer.Argument(None, help="A SELECT (or other read-only) statement."),
    warehouse: Path | None = WAREHOUSE_OPTION,
    parquet: Path | None = typer.Option(
        None, "--parquet", help="Query a folder of parquet shards (<table>/*.parquet) instead."
    ),
    schema: bool = typer.Option(False, "--schema", help="List tables, views and their columns."),
    as_json: bool = typer.Option(False, "--json", help="Rows as a JSON list of objects."),
    as_csv: bool = typer.Option(False, "--csv", help="Rows as CSV."),
    limit: int = typer.Option(1000, "--limit", help="Rows shown in the table view (not JSON/CSV)."),
) -> None:
    """Query the warehouse on a read-only connection; statements that write are refused."""
    from taskforge.warehouse.readonly import describe_schema, run_query

    if as_json and as_csv:
        fail("--json and --csv are exclusive")
    with _open(warehouse, parquet) as wh:
        if schema:
            _print_rows(describe_schema(wh), as_json, as_csv, limit)
            return
        if not query:
            fail("give a query, or --schema")
        frame = run_query(wh, query)
    _print_rows(frame.to_dicts(), as_json, as_csv, limit, list(frame.columns))


def _open(warehouse: Path | None, parquet: Path | None) -> Any:
    """The warehouse file read-only, or the folder of parquet shards."""
    from taskforge.warehouse import Warehouse
    from taskforge.warehouse.parquet import open_parquet

    if parquet is not None:  # it wins over the warehouse file (and $TASKFORGE_WAREHOUSE)
        return open_parquet(parquet)
    return Warehouse.open(warehouse, read_only=True)


def _print_rows(
    rows: list[dict[str, Any]],
    as_json: bool,
    as_csv: bool,
    limit: int,
    columns: list[str] | None = None,
) -> None:
    columns = columns or (list(rows[0]) if rows else [])
    if as_json:
        emit_json(rows)
    elif as_csv:
        writer = csv.DictWriter(sys.stdout, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    else:
        table = Table(*(escape(c) for c in columns))  # values are data, never rich markup
        for row in rows[:limit]:
            table.add_row(*("" if row[c] is None else escape(str(row[c])) for c in columns))
        console.print(table)
        if len(rows) > limit:
            console.print(f"... {len(rows) - limit} more rows (use --json or --csv for all)")
