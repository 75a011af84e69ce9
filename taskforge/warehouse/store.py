"""The warehouse: one DuckDB file, opened read-write (one writer) or read-only (many readers)."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from taskforge.errors import TaskforgeError
from taskforge.warehouse.schema import MIGRATIONS, SCHEMA_VERSION, TABLES

DEFAULT_PATH = Path("taskforge.duckdb")
ENV_VAR = "TASKFORGE_WAREHOUSE"
LOCK_WAIT_SECONDS = 30.0
ROW_GROUP_SIZE = 16_384
"""Rows per DuckDB row group (DuckDB's default: 122,880). DuckDB compresses the strings of a row
group through one dictionary; smaller groups keep it small, and landing a file of 5,000
trajectories (100,000 messages) then costs about 25% less CPU, for a file about 45% larger
(`taskforge bench warehouse`). It is an option of each open, not stored in the file."""


def run_sql(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None) -> None:
    """Execute a statement whose rows (if any) are not wanted, and finish its result."""
    con.execute(sql, params).complete()


def insert_into(table: str, source: str) -> str:
    """``INSERT INTO table (...) SELECT ... FROM source``, column by name. No casts: staged
    tables carry the warehouse types (JSON as Arrow's JSON type, which DuckDB takes as is,
    measured 12% cheaper than casting)."""
    from taskforge.warehouse.schema import TABLE_BY_NAME

    cols = ", ".join(TABLE_BY_NAME[table].column_names)
    return f"INSERT INTO {table} ({cols}) SELECT {cols} FROM {source}"


def insert_staged(con: duckdb.DuckDBPyConnection, table: str, staged: Any, new_only: bool) -> None:
    """Insert an Arrow table into ``table``; with ``new_only``, only rows whose primary key is
    not stored yet (the first of duplicates within ``staged`` wins)."""
    from taskforge.warehouse.schema import TABLE_BY_NAME

    if not staged.num_rows:
        return
    sql = insert_into(table, "staged")
    if new_only:
        key = ", ".join(TABLE_BY_NAME[table].primary_key)
        sql += (
            f" WHERE ({key}) NOT IN (SELECT ({key}) FROM {table})"
            f" QUALIFY row_number() OVER (PARTITION BY {key}) = 1"
        )
    con.register("staged", staged)
    try:
        run_sql(con, sql)
    finally:
        con.unregister("staged")


class WarehouseError(TaskforgeError):
    """A warehouse that cannot be opened or used as asked."""


def resolve_path(path: str | Path | None) -> Path:
    """``path``, else $TASKFORGE_WAREHOUSE, else ./taskforge.duckdb."""
    if path is not None:
        return Path(path)
    return Path(os.environ.get(ENV_VAR) or DEFAULT_PATH)


def _connect(path: Path, read_only: bool, wait: float) -> duckdb.DuckDBPyConnection:
    """Open the file, waiting while another process holds the write lock."""
    deadline = time.monotonic() + wait
    delay = 0.05
    options = f"ROW_GROUP_SIZE {ROW_GROUP_SIZE}" + (", READ_ONLY" if read_only else "")
    quoted = str(path).replace("'", "''")
    while True:
        con = duckdb.connect()
        try:
            run_sql(con, f"ATTACH '{quoted}' AS warehouse ({options})")
            run_sql(con, "USE warehouse")
            return con
        except BaseException as exc:
            con.close()
            if not isinstance(exc, duckdb.IOException):
                raise
            if "lock" not in str(exc).lower() or time.monotonic() >= deadline:
                raise WarehouseError(f"{path}: cannot open ({exc})") from exc
            time.sleep(delay)
            delay = min(delay * 2, 0.5)


class Warehouse:
    """A taskforge warehouse. Use :meth:`open`; close it (or use ``with``) when done."""

    def __init__(self, con: duckdb.DuckDBPyConnection, path: Path, read_only: bool) -> None:
        self.con = con
        self.path = path
        self.read_only = read_only

    @classmethod
    def open(
        cls,
        path: str | Path | None = None,
        read_only: bool = False,
        wait: float = LOCK_WAIT_SECONDS,
    ) -> Warehouse:
        """Open (and, read-write, create or upgrade) the warehouse at ``path``."""
        target = resolve_path(path)
        if read_only and not target.exists():
            raise WarehouseError(f"{target}: no warehouse here (ingest something first)")
        con = _connect(target, read_only, wait)
        wh = cls(con, target, read_only)
        try:
            wh._check_version()
        except Exception:
            con.close()
            raise
        return wh

    def _stored_version(self) -> int | None:
        rows = self.con.execute("SELECT table_name FROM duckdb_tables()").fetchall()
        tables = {r[0] for r in rows}
        if "schema_version" not in tables:
            if tables:
                raise WarehouseError(f"{self.path}: not a taskforge warehouse (no schema_version)")
            return None
        value = self.scalar("SELECT max(version) FROM schema_version")
        return int(value) if value is not None else 0

    def _check_version(self) -> None:
        stored = self._stored_version()
        if stored is not None and stored > SCHEMA_VERSION:
            raise WarehouseError(
                f"{self.path}: warehouse schema v{stored} is newer than this taskforge "
                f"(v{SCHEMA_VERSION}); upgrade taskforge to read it"
            )
        if stored == SCHEMA_VERSION:
            self._create_views()
            return
        if self.read_only:
            raise WarehouseError(
                f"{self.path}: warehouse schema v{stored} is older than v{SCHEMA_VERSION}; "
                "open it read-write once (e.g. any `taskforge ingest`) to upgrade it"
            )
        self._migrate(stored or 0)

    def _migrate(self, stored: int) -> None:
        from taskforge import __version__

        with self.transaction():
            run_sql(
                self.con,
                "CREATE TABLE IF NOT EXISTS schema_version "
                "(version INTEGER, taskforge_version VARCHAR, applied_at TIMESTAMP)",
            )
            for version in range(stored + 1, SCHEMA_VERSION + 1):
                for statement in MIGRATIONS[version]:
                    run_sql(self.con, statement)
                if version == 6 and stored > 0:  # a new file has no rows to re-key
                    from taskforge.warehouse.rekey import rekey_tasks

                    rekey_tasks(self.con)
                run_sql(
                    self.con,
                    "INSERT INTO schema_version VALUES (?, ?, now())",
                    [version, __version__],
                )
        self._create_views()

    def _create_views(self) -> None:
        from taskforge.warehouse.views import create_views, views_current

        if self.read_only:
            create_views(self.con, temporary=True)
            return
        if views_current(self.con):
            return
        with self.transaction():
            create_views(self.con)

    @contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """All of the block lands, or none of it."""
        run_sql(self.con, "BEGIN TRANSACTION")
        try:
            yield self.con
        except BaseException:
            run_sql(self.con, "ROLLBACK")
            raise
        run_sql(self.con, "COMMIT")

    def query(self, sql: str, params: list[Any] | None = None) -> pl.DataFrame:
        """Run a query and return a polars DataFrame."""
        return self.con.sql(sql, params=params).pl()

    def counts(self) -> dict[str, int]:
        """Row count of every table."""
        return {t.name: int(self.scalar(f"SELECT count(*) FROM {t.name}")) for t in TABLES}

    def scalar(self, sql: str, params: list[Any] | None = None) -> Any:
        """The first value of the first row (None when there is no row)."""
        rows = self.con.execute(sql, params).fetchall()
        return rows[0][0] if rows else None

    def close(self) -> None:
        """Close the connection (releases the write lock)."""
        self.con.close()

    def __enter__(self) -> Warehouse:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
