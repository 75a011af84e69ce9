"""Read-only access for users' SQL: statements that write are refused before they run."""

from __future__ import annotations

from typing import Any

import duckdb
import polars as pl

from taskforge.errors import TaskforgeError
from taskforge.warehouse.store import Warehouse

READ_ONLY_TYPES = {"SELECT", "EXPLAIN", "PRAGMA", "SET", "VARIABLE_SET"}


class WriteRefused(TaskforgeError):
    """A statement that would change the warehouse."""


def check_read_only(wh: Warehouse, query: str) -> None:
    """Refuse any statement that is not a query (DuckDB's read-only mode also enforces it)."""
    try:
        statements = wh.con.extract_statements(query)
    except Exception as exc:  # a parse error: report it as the user's
        raise TaskforgeError(f"SQL error: {str(exc).splitlines()[0]}") from exc
    if not statements:
        raise TaskforgeError("empty query")
    for statement in statements:
        kind = str(statement.type).split(".")[-1].upper()
        if kind not in READ_ONLY_TYPES:
            raise WriteRefused(
                f"refused: `taskforge sql` is read-only and this is a {kind} statement"
            )


def run_query(wh: Warehouse, query: str) -> pl.DataFrame:
    """Check that ``query`` only reads, run it, and report SQL errors as one line."""
    check_read_only(wh, query)
    try:
        return wh.query(query)
    except duckdb.Error as exc:
        raise TaskforgeError(f"SQL error: {str(exc).splitlines()[0]}") from exc


def describe_schema(wh: Warehouse) -> list[dict[str, Any]]:
    """Every table and view with its columns and types (a view once: a read-only connection's
    temporary copy of a stored view shadows it)."""
    frame = wh.query(
        'SELECT name, kind, "column", type FROM ('
        '  SELECT c.table_name AS name, t.table_type AS kind, c.column_name AS "column", '
        "  c.data_type AS type, c.ordinal_position AS pos, row_number() OVER ("
        "    PARTITION BY c.table_name, c.column_name ORDER BY c.table_catalog = 'temp' DESC"
        "  ) AS copy "
        "  FROM information_schema.columns c "
        "  JOIN information_schema.tables t USING (table_catalog, table_schema, table_name) "
        "  WHERE c.table_schema = 'main') "
        "WHERE copy = 1 ORDER BY kind, name, pos"
    )
    return frame.to_dicts()
