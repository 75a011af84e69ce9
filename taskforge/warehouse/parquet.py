"""A warehouse as a folder of parquet shards, queried in place by DuckDB.

Layout: one folder per table, ``<root>/<table>/*.parquet`` (any number of shards per table,
read together with ``union_by_name``), so producers can add shards beside what
:func:`export_parquet` wrote. :func:`open_parquet` gives a read-only :class:`Warehouse` over such
a folder: an in-memory DuckDB whose tables are views over ``read_parquet`` (an absent table is
an empty one with the warehouse's columns) and whose standard views are the DuckDB file's, so
the same query gives the same rows over either.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from taskforge.errors import DataError
from taskforge.warehouse.schema import TABLES
from taskforge.warehouse.store import Warehouse, run_sql
from taskforge.warehouse.views import create_views


def _quoted(path: Path) -> str:
    return str(path).replace("'", "''")


def export_parquet(wh: Warehouse, root: Path) -> dict[str, int]:
    """Write every table of the warehouse as ``<root>/<table>/part-0.parquet``; rows per table.

    A table's folder is replaced whole (written beside it, then renamed), so a rerun after a
    crash leaves no mix of old and new shards.
    """
    root.mkdir(parents=True, exist_ok=True)
    counts = {}
    for table in TABLES:
        final, tmp = root / table.name, root / f".{table.name}.tmp"
        _clear(tmp)
        tmp.mkdir()
        target = _quoted(tmp / "part-0.parquet")
        run_sql(wh.con, f"COPY (SELECT * FROM {table.name}) TO '{target}' (FORMAT parquet)")
        _clear(final)
        tmp.rename(final)
        counts[table.name] = int(wh.scalar(f"SELECT count(*) FROM {table.name}"))
    return counts


def _clear(folder: Path) -> None:
    """Remove a table folder of parquet shards (nothing else is expected in it)."""
    if folder.exists():
        for shard in folder.iterdir():
            shard.unlink()
        folder.rmdir()


def open_parquet(root: Path) -> Warehouse:
    """A read-only warehouse over a folder of parquet shards (see the module docstring)."""
    if not root.is_dir():
        raise DataError(f"{root}: no such folder of parquet shards")
    known = {t.name for t in TABLES}
    if not any((root / name).is_dir() for name in known):
        raise DataError(f"{root}: no table folder (<table>/*.parquet) of a taskforge warehouse")
    con = duckdb.connect()
    try:
        for table in TABLES:
            shards = sorted((root / table.name).glob("*.parquet"))
            if shards:
                where = _quoted(root / table.name / "*.parquet")
                source = f"read_parquet('{where}', union_by_name = true)"
                columns = ", ".join(f"{n}::{t} AS {n}" for n, t in table.columns)  # JSON...
                run_sql(con, f"CREATE VIEW {table.name} AS SELECT {columns} FROM {source}")
            else:
                run_sql(con, table.ddl())
        create_views(con)
    except duckdb.Error as exc:
        con.close()
        raise DataError(f"{root}: cannot read its parquet shards ({exc})") from exc
    return Warehouse(con, root, read_only=True)


__all__ = ["export_parquet", "open_parquet"]
