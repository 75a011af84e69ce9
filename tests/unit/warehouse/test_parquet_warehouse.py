"""A warehouse written as parquet shards answers every view with the rows of the DuckDB file."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from taskforge.cli.app import app
from taskforge.errors import DataError
from taskforge.rollout.api import RolloutRequest, run_rollout
from taskforge.warehouse import Warehouse
from taskforge.warehouse.parquet import export_parquet, open_parquet
from taskforge.warehouse.schema import TABLES
from taskforge.warehouse.views import VIEWS

REPO = Path(__file__).resolve().parents[3]
TASKS = REPO / "datasets" / "retail" / "seed_tasks.json"


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A rollout of 6 seed tasks x 2 trials (offline scripted agents, with failures)."""
    tmp = tmp_path_factory.mktemp("pq")
    request = RolloutRequest(TASKS, trials=2, limit=6, out_dir=tmp / "r", warehouse=tmp / "w.db")
    run_rollout(request)
    return tmp / "w.db"


def _rows(wh: Warehouse, name: str) -> list[dict[str, object]]:
    return wh.query(f"SELECT * FROM {name} ORDER BY ALL").to_dicts()


def test_every_table_and_view_gives_the_same_rows_over_parquet(
    warehouse: Path, tmp_path: Path
) -> None:
    with Warehouse.open(warehouse, read_only=True) as wh:
        counts = export_parquet(wh, tmp_path / "pq")
        expected = {n: _rows(wh, n) for n in [*VIEWS, *(t.name for t in TABLES)]}
    assert counts["trajectories"] == 12 and counts["messages"] > 12
    with open_parquet(tmp_path / "pq") as pq:
        for name, rows in expected.items():
            assert _rows(pq, name) == rows, name
    assert sum(len(expected[n]) for n in VIEWS) > 0


def test_sql_reads_a_parquet_folder_and_extra_shards_count(warehouse: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "pq"
    done = runner.invoke(app, ["export", "parquet", "--out", str(out), "--warehouse",
                               str(warehouse), "--json"])  # fmt: skip
    assert done.exit_code == 0, done.stderr
    assert json.loads(done.stdout)["tables"]["trajectories"] == 12
    query = "SELECT count(*) AS n, sum(n_tasks)::INTEGER AS tasks FROM pass_k_run"
    over_file = runner.invoke(app, ["sql", query, "--warehouse", str(warehouse), "--json"])
    over_parquet = runner.invoke(app, ["sql", query, "--parquet", str(out), "--json"])
    assert over_parquet.exit_code == 0, over_parquet.stderr
    assert json.loads(over_parquet.stdout) == json.loads(over_file.stdout) == [{"n": 1, "tasks": 6}]
    shutil.copy(out / "trajectories" / "part-0.parquet", out / "trajectories" / "part-1.parquet")
    more = runner.invoke(app, ["sql", "SELECT count(*) AS n FROM trajectories", "--parquet",
                               str(out), "--json"])  # fmt: skip
    assert json.loads(more.stdout) == [{"n": 24}]  # a producer's extra shard is read in place
    refused = runner.invoke(app, ["sql", "COPY trajectories TO 'x.csv'", "--parquet", str(out)])
    assert refused.exit_code != 0 and "read-only" in refused.stderr


def test_a_folder_without_table_shards_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no table folder"):
        open_parquet(tmp_path)
    result = CliRunner().invoke(app, ["sql", "SELECT 1", "--parquet", str(tmp_path / "nope")])
    assert result.exit_code == 2 and "no such folder of parquet shards" in result.stderr
