"""Opening, creating, upgrading and refusing warehouses."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from taskforge.warehouse import Warehouse, WarehouseError
from taskforge.warehouse.ingest.base import already_ingested
from taskforge.warehouse.schema import SCHEMA_VERSION, TABLES
from tests.unit.warehouse.conftest import assert_read_back, downgrade, ingest_odd


def test_new_warehouse_has_every_table_and_the_version(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    with Warehouse.open(path) as wh:
        assert set(wh.counts()) == {t.name for t in TABLES}
        assert wh.scalar("SELECT max(version) FROM schema_version") == SCHEMA_VERSION
    with Warehouse.open(path, read_only=True) as wh:
        assert wh.query("SELECT * FROM pass_k_run").height == 0


def test_default_path_comes_from_the_environment(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("TASKFORGE_WAREHOUSE", str(tmp_path / "env.duckdb"))
    with Warehouse.open() as wh:
        assert wh.path == tmp_path / "env.duckdb"


def test_newer_warehouse_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    Warehouse.open(path).close()
    con = duckdb.connect(str(path))
    con.execute("INSERT INTO schema_version VALUES (?, 'future', now())", [SCHEMA_VERSION + 1])
    con.close()
    for read_only in (False, True):
        with pytest.raises(WarehouseError, match="newer than this taskforge"):
            Warehouse.open(path, read_only=read_only)


def test_older_warehouse_is_upgraded_read_write_and_refused_read_only(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    con = duckdb.connect(str(path))
    con.execute(
        "CREATE TABLE schema_version (version INTEGER, taskforge_version VARCHAR, "
        "applied_at TIMESTAMP)"
    )
    con.execute("INSERT INTO schema_version VALUES (0, 'old', now())")
    con.close()
    with pytest.raises(WarehouseError, match="older than"):
        Warehouse.open(path, read_only=True)
    with Warehouse.open(path) as wh:
        assert wh.scalar("SELECT max(version) FROM schema_version") == SCHEMA_VERSION
        assert "trajectories" in wh.counts()


def test_foreign_duckdb_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE stuff (x INTEGER)")
    con.close()
    with pytest.raises(WarehouseError, match="not a taskforge warehouse"):
        Warehouse.open(path)


def test_read_only_needs_an_existing_file(tmp_path: Path) -> None:
    with pytest.raises(WarehouseError, match="no warehouse here"):
        Warehouse.open(tmp_path / "missing.duckdb", read_only=True)
    assert not (tmp_path / "missing.duckdb").exists()


def test_transaction_rolls_back_on_error(tmp_path: Path) -> None:
    with Warehouse.open(tmp_path / "w.duckdb") as wh:
        with pytest.raises(RuntimeError), wh.transaction() as con:
            con.execute(
                "INSERT INTO task_pools (pool, round, task_uid, added_at) "
                "VALUES ('p', 0, 't', now())"
            ).fetchall()
            raise RuntimeError("boom")
        assert wh.counts()["task_pools"] == 0


def test_version_2_warehouse_gains_the_loop_stages_table_and_keeps_its_rows(
    tmp_path: Path,
) -> None:
    path = tmp_path / "v2.duckdb"
    Warehouse.open(path).close()
    con = downgrade(path, 2)
    con.execute("INSERT INTO task_pools (pool, round, task_uid) VALUES ('p', 0, 'uid')")
    con.close()
    with pytest.raises(WarehouseError, match="older than"):
        Warehouse.open(path, read_only=True)
    with Warehouse.open(path) as wh:
        assert wh.scalar("SELECT max(version) FROM schema_version") == SCHEMA_VERSION == 7
        assert wh.counts()["loop_stages"] == 0
        assert wh.counts()["task_pools"] == 1


def test_version_3_messages_gain_their_tool_columns_from_extra(tmp_path: Path) -> None:
    """A v3 warehouse kept a tool message's id, requestor and error (and usage) in ``extra``;
    the upgrade copies them into their columns and the trajectories read back unchanged."""
    path = tmp_path / "v3.duckdb"
    trajectories = ingest_odd(path, 30, seed=3)
    con = duckdb.connect(str(path))  # store the messages as v3 did: those fields in extra
    con.execute(
        "UPDATE messages SET extra = json_merge_patch(coalesce(extra, '{}'), json_object("
        "'id', tool_call_id, 'requestor', requestor, 'error', error))"
    )
    con.execute(
        "UPDATE messages SET extra = json_merge_patch(extra, json_object('usage', json_object("
        "'prompt_tokens', prompt_tokens, 'completion_tokens', completion_tokens))) "
        "WHERE prompt_tokens IS NOT NULL AND completion_tokens IS NOT NULL "
        "AND (extra->'usage') IS NULL"
    )
    con.close()
    downgrade(path, 3).close()
    with Warehouse.open(path) as wh:
        n_tool = wh.scalar("SELECT count(*) FROM messages WHERE role = 'tool'")
        assert n_tool > 0
        assert wh.scalar("SELECT count(tool_call_id) FROM messages WHERE role = 'tool'") == n_tool
        assert_read_back(wh, trajectories)


def test_version_4_files_with_quarantined_records_become_retryable(tmp_path: Path) -> None:
    """Before v5 a file with quarantined records was marked ingested; the migration counts them
    from the quarantine, so the next ingest reads such a file again."""
    path = tmp_path / "w.duckdb"
    Warehouse.open(path).close()
    con = downgrade(path, 4)
    con.execute("INSERT INTO ingested_files VALUES ('a.json', 'h1', 'tau2', 0, 0, now())")
    con.execute("INSERT INTO ingested_files VALUES ('b.json', 'h2', 'tau2', 3, 3, now())")
    con.execute("INSERT INTO quarantine VALUES ('a.json', 0, 'x', 'bad', '{}', now())")
    con.close()
    with Warehouse.open(path) as wh:
        rows = wh.con.execute(
            "SELECT path, n_quarantined FROM ingested_files ORDER BY path"
        ).fetchall()
        assert rows == [("a.json", 1), ("b.json", 0)]
        assert not already_ingested(wh, "a.json", "h1") and already_ingested(wh, "b.json", "h2")
