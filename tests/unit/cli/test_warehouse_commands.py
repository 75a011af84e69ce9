"""`taskforge ingest` and `taskforge sql` as a user runs them."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from typer.testing import CliRunner

from taskforge.cli.app import app

runner = CliRunner()


def _run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def _ingested(tmp_path: Path, tau2_dir: Path) -> Path:
    wh = tmp_path / "w.duckdb"
    code, out, _ = _run(
        "ingest", "tau2", str(tau2_dir / "results"), "--warehouse", str(wh), "--json"
    )
    assert code == 0 and json.loads(out)["trajectories_new"] == 40
    return wh


def test_ingest_twice_adds_nothing(tmp_path: Path, tau2_dir: Path) -> None:
    wh = _ingested(tmp_path, tau2_dir)
    code, out, _ = _run(
        "ingest", "tau2", str(tau2_dir / "results"), "--warehouse", str(wh), "--json"
    )
    report = json.loads(out)
    assert code == 0 and report["rows_added"] == {} and report["files_already_ingested"] == 1


def test_sql_outputs(tmp_path: Path, tau2_dir: Path) -> None:
    wh = _ingested(tmp_path, tau2_dir)
    query = "SELECT termination_reason, count(*) AS n FROM trajectories GROUP BY 1 ORDER BY 1"
    code, out, _ = _run("sql", query, "--warehouse", str(wh), "--json")
    rows = json.loads(out)
    assert code == 0 and sum(r["n"] for r in rows) == 40
    code, out, _ = _run("sql", query, "--warehouse", str(wh), "--csv")
    csv_rows = list(csv.DictReader(io.StringIO(out)))
    assert code == 0 and len(csv_rows) == len(rows)
    assert set(csv_rows[0]) == {"termination_reason", "n"}
    code, out, _ = _run("sql", "--schema", "--warehouse", str(wh), "--json")
    schema = json.loads(out)
    names = {(r["name"], r["kind"]) for r in schema}
    assert ("trajectories", "BASE TABLE") in names and ("pass_k_run", "VIEW") in names
    columns = [(r["name"], r["column"]) for r in schema]
    assert len(columns) == len(set(columns))  # a view once, though a reader has a temp copy
    assert ("messages", "tool_call_id") in columns


def test_sql_refuses_writes_and_nothing_changes(tmp_path: Path, tau2_dir: Path) -> None:
    wh = _ingested(tmp_path, tau2_dir)
    for statement in (
        "DELETE FROM trajectories",
        "DROP TABLE messages",
        "SELECT 1; DELETE FROM trajectories",
        "CREATE TABLE x AS SELECT 1",
        "COPY trajectories TO 'x.csv'",
        "ATTACH 'other.duckdb'",
    ):
        code, out, err = _run("sql", statement, "--warehouse", str(wh))
        assert code == 2 and out == "" and "refused" in err, statement
    code, out, _ = _run(
        "sql", "SELECT count(*) AS n FROM trajectories", "--warehouse", str(wh), "--json"
    )
    assert json.loads(out) == [{"n": 40}]


def test_sql_errors_are_one_line(tmp_path: Path, tau2_dir: Path) -> None:
    wh = _ingested(tmp_path, tau2_dir)
    code, _, err = _run("sql", "SELEC nonsense", "--warehouse", str(wh))
    assert code == 2 and "SQL error" in err
    code, _, err = _run("sql", "SELECT * FROM no_such_table", "--warehouse", str(wh))
    assert code == 2 and "SQL error" in err and "no_such_table" in err
    code, _, err = _run("sql", "SELECT 1", "--warehouse", str(tmp_path / "none.duckdb"))
    assert code == 2 and "no warehouse here" in err


def test_ingest_bad_file_exits_2_and_changes_nothing(tmp_path: Path, tau2_dir: Path) -> None:
    wh = _ingested(tmp_path, tau2_dir)
    bad = tmp_path / "bad.json"
    bad.write_text((tau2_dir / "results" / "gpt-4.1_retail_test_1trial.json").read_text()[:5000])
    code, _, err = _run("ingest", "tau2", str(bad), "--warehouse", str(wh))
    assert code == 2 and "not valid JSON" in err and str(bad) in err.replace("\n", "")
    code, out, _ = _run(
        "sql", "SELECT count(*) AS n FROM messages", "--warehouse", str(wh), "--json"
    )
    assert json.loads(out) == [{"n": 1105}]


def test_sql_table_prints_values_that_look_like_rich_markup(tmp_path: Path) -> None:
    from taskforge.warehouse import Warehouse

    path = tmp_path / "w.duckdb"
    Warehouse.open(path).close()
    query = "SELECT '[/tmp/x.parquet]' AS \"[bold]path\", '[red]x' AS v"
    code, _, err = _run("sql", query, "--warehouse", str(path))
    assert code == 0 and "[/tmp/x.parquet]" in err and "[red]x" in err and "[bold]path" in err
