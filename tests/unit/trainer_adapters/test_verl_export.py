"""taskforge export verl: the folder, its manifest, reruns, the command line (no verl needed)."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml
from typer.testing import CliRunner

from taskforge.cli.app import app
from taskforge.contracts import Task
from taskforge.contracts.io import load_tasks
from taskforge.env.db import Database
from taskforge.errors import DataError
from taskforge.export import ExportResult, split_of
from taskforge.pool import build_pool, pool_from_tasks
from taskforge.rewards import load_spec
from taskforge.warehouse import Warehouse
from trainer_adapters.verl.export import FILES, VerlExportOptions, export_verl, read_export
from trainer_adapters.verl.inputs import AGENT_NAME

REPO = Path(__file__).resolve().parents[3]
SEEDS = REPO / "datasets" / "retail" / "seed_tasks.json"


def test_the_folder_holds_data_spec_configs_readme_and_manifest(small_export: ExportResult) -> None:
    out = small_export.out
    manifest = read_export(out)
    assert manifest.exporter == "verl" and manifest.pool.name == "seeds"
    assert set(manifest.files) == set(FILES.values())
    extra = manifest.extra
    assert sum(extra["split_counts"].values()) == 4 and extra["agent_name"] == AGENT_NAME
    assert extra["reward_spec"]["hash"] == load_spec("raft").spec_hash()
    assert load_spec(str(out / FILES["spec"])).spec_hash() == load_spec("raft").spec_hash()
    rows = (
        pq.read_table(out / FILES["train"]).to_pylist()
        + pq.read_table(out / FILES["val"]).to_pylist()
    )
    uids = {e.task_id: e.task_uid for e in manifest.pool.active()}
    assert sorted(r["reward_model"]["ground_truth"] for r in rows) == sorted(uids)
    for row in rows:  # the shared split: by content key, stable as the pool grows
        extra_info = row["extra_info"]
        want = split_of(uids[extra_info["task_id"]], {"train": 0.75, "val": 0.25}, 0)
        assert extra_info["split"] == want
    tools = yaml.safe_load((out / FILES["tools"]).read_text())["tools"]
    assert len(tools) == 16 and all(t["tool_schema"] is None for t in tools)
    loops = yaml.safe_load((out / FILES["agent_loop"]).read_text())
    assert loops[0]["name"] == AGENT_NAME and loops[0]["round"] == 1
    readme = (out / FILES["readme"]).read_text()
    assert (
        "python -m trainer_adapters.verl.launch --export" in readme and "`seeds` round 1" in readme
    )


def test_a_rerun_writes_the_same_files(
    tmp_path: Path, small_export: ExportResult, seed_tasks: list[Task], db: Database
) -> None:
    pool = pool_from_tasks("seeds", 1, seed_tasks, "retail", mode="raft-union")
    again = export_verl(
        pool, seed_tasks, db, tmp_path / "again", VerlExportOptions(val_fraction=0.25)
    )
    assert again.manifest.files == small_export.manifest.files


def test_db_file_mode_writes_one_db_file(
    tmp_path: Path, seed_tasks: list[Task], db: Database
) -> None:
    pool = pool_from_tasks("seeds", 0, seed_tasks, "retail")
    out = tmp_path / "filemode"
    export_verl(pool, seed_tasks, db, out, VerlExportOptions(db_mode="file"))
    extra = pq.read_table(out / FILES["train"]).to_pylist()[0]["extra_info"]
    assert (
        extra["db"] == "" and Path(extra["db_path"]) == (out / "dbs" / f"{db.hash}.json").resolve()
    )
    assert Path(extra["db_path"]).is_file()


def test_bad_requests_fail_with_one_line(
    tmp_path: Path, seed_tasks: list[Task], db: Database
) -> None:
    pool = pool_from_tasks("seeds", 0, seed_tasks, "retail")
    with pytest.raises(DataError, match="val-fraction"):
        export_verl(pool, seed_tasks, db, tmp_path / "x", VerlExportOptions(val_fraction=1.5))
    with pytest.raises(DataError, match="not a reward spec preset"):
        export_verl(pool, seed_tasks, db, tmp_path / "y", VerlExportOptions(spec="nope"))
    with pytest.raises(DataError, match=r"not a verl export|no such file|not a taskforge export"):
        read_export(tmp_path)


def test_the_command_exports_a_task_file_and_a_stored_pool(
    tmp_path: Path, seed_tasks: list[Task]
) -> None:
    runner = CliRunner()
    out = tmp_path / "from-file"
    result = runner.invoke(
        app,
        [
            "export",
            "verl",
            "--tasks",
            str(SEEDS),
            "--out",
            str(out),
            "--val-fraction",
            "0.2",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["exporter"] == "verl"
    assert sum(summary["splits"].values()) == len(load_tasks(SEEDS))
    warehouse = tmp_path / "w.duckdb"
    with Warehouse.open(warehouse) as wh:
        build_pool(wh, "demo", 2, seed_tasks)
    stored = tmp_path / "from-pool"
    result = runner.invoke(
        app,
        [
            "export",
            "verl",
            "--pool",
            "demo",
            "--warehouse",
            str(warehouse),
            "--out",
            str(stored),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    manifest = read_export(stored)
    assert manifest.pool.name == "demo" and manifest.pool.round == 2
    bad = runner.invoke(
        app, ["export", "verl", "--tasks", str(SEEDS), "--out", str(out), "--db-mode", "x"]
    )
    assert bad.exit_code == 2 and "--db-mode" in bad.output
