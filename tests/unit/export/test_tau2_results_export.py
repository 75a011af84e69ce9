"""`taskforge export tau2-results`: an ingested tau2 file comes back out of the warehouse byte
for byte (tau2 before 1.0 and 1.0.1), or says why not."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from taskforge.cli.app import app
from taskforge.export.tau2_results import export_tau2_results
from taskforge.warehouse import Warehouse, get_adapter, ingest_paths

pytestmark = pytest.mark.shared
runner = CliRunner()


def _shared_files(tau2_dir: Path) -> list[Path]:
    """Every results file in ../shared: tau2 before 1.0 (results/) and 1.0.1 (formats/)."""
    found = sorted((tau2_dir / "results").glob("*.json"))
    found += sorted((tau2_dir / "formats").glob("*.json"))
    assert len(found) >= 2
    return found


def _ingest(wh: Path, path: Path, skip_bad: bool = False) -> Any:
    return ingest_paths(wh, get_adapter("tau2"), [path], skip_bad)[0]


def _export(wh_path: Path, source: Path, out: Path) -> dict[str, Any]:
    with Warehouse.open(wh_path, read_only=True) as wh:
        (run_id,) = wh.con.execute(
            "SELECT run_id FROM source_layouts WHERE source_path = ?", [str(source)]
        ).fetchone() or (None,)
        assert run_id is not None, f"no layout stored for {source}"
        return export_tau2_results(wh, run_id, out).summary()


def _written(tmp_path: Path, data: dict[str, Any], indent: int = 1) -> Path:
    """``data`` as tau2 1.0.1 writes it (indent 1, no final newline)."""
    path = tmp_path / "results.json"
    path.write_text(json.dumps(data, indent=indent))
    return path


def test_every_shared_results_file_comes_back_byte_equal(tmp_path: Path, tau2_dir: Path) -> None:
    files = _shared_files(tau2_dir)
    wh = tmp_path / "w.duckdb"
    for path in files:  # one warehouse for all: each run still comes back alone, whole
        assert _ingest(wh, path).n_quarantined == 0
    for i, path in enumerate(files):
        out = tmp_path / f"back-{i}.json"
        summary = _export(wh, path, out)
        assert out.read_bytes() == path.read_bytes(), path
        assert summary["exact"] and summary["same_as_source"]
        assert summary["n_simulations"] == len(json.loads(path.read_bytes())["simulations"])


def test_tasks_stored_first_from_another_file_come_back_as_this_file_wrote_them(
    tmp_path: Path, tau2_sample: Path
) -> None:
    data = json.loads(tau2_sample.read_bytes())
    other = copy.deepcopy(data)
    other["timestamp"] = "2026-12-04T00:00:00"  # another run, the same tasks ...
    for task in other["tasks"]:
        for name in ("issues", "required_documents", "user_tools"):
            del task[name]  # ... written without their nulls
    wh = tmp_path / "w.duckdb"
    (tmp_path / "other").mkdir()
    assert _ingest(wh, _written(tmp_path / "other", other)).n_new == 8
    assert _ingest(wh, tau2_sample).n_new == 8
    with Warehouse.open(wh, read_only=True) as con:
        assert con.scalar("SELECT count(*) FROM tasks") == len(data["tasks"])  # stored once
    summary = _export(wh, tau2_sample, tmp_path / "back.json")
    assert (tmp_path / "back.json").read_bytes() == tau2_sample.read_bytes()
    assert summary["exact"]


def test_an_unknown_task_field_warns_lands_and_comes_back(
    tmp_path: Path, tau2_sample: Path
) -> None:
    data = json.loads(tau2_sample.read_bytes())
    data["tasks"][2]["difficulty"] = "hard"
    data["tasks"][5]["description"]["reviewer"] = {"name": "ann"}
    path = _written(tmp_path, data)
    result = _ingest(tmp_path / "w.duckdb", path)
    assert (result.n_new, result.n_quarantined) == (8, 0)
    first, second = data["tasks"][2]["id"], data["tasks"][5]["id"]
    assert len(result.warnings) == 2
    assert "tasks: field difficulty" in result.warnings[0]
    assert f"record #2 (id {first!r})" in result.warnings[0]
    assert "field description.reviewer" in result.warnings[1]
    assert f"#5 (id {second!r})" in result.warnings[1]
    with Warehouse.open(tmp_path / "w.duckdb", read_only=True) as wh:
        assert wh.scalar("SELECT count(*) FROM tasks") == len(data["tasks"])
        stored = wh.scalar("SELECT task FROM tasks WHERE task_id = ?", [first])
    assert "difficulty" not in json.loads(stored)  # the contract's row reads what it knows
    _export(tmp_path / "w.duckdb", path, tmp_path / "back.json")
    assert (tmp_path / "back.json").read_bytes() == path.read_bytes()  # kept as written


def test_quarantined_simulations_are_named_missing_until_they_land(
    tmp_path: Path, tau2_sample: Path
) -> None:
    data = json.loads(tau2_sample.read_bytes())
    data["simulations"][3]["termination_reason"] = "handed_off"  # not a reason taskforge reads
    path = _written(tmp_path, data)
    wh = tmp_path / "w.duckdb"
    assert _ingest(wh, path, skip_bad=True).n_quarantined == 1
    summary = _export(wh, path, tmp_path / "back.json")
    assert summary["missing"] == [f"simulation {data['simulations'][3]['id']}"]
    assert (summary["exact"], summary["same_as_source"], summary["n_simulations"]) == (
        False,
        False,
        7,
    )
    data["simulations"][3]["termination_reason"] = "user_stop"  # fixed in place
    path.write_text(json.dumps(data, indent=1))
    assert _ingest(wh, path).n_new == 1
    summary = _export(wh, path, tmp_path / "back.json")
    assert summary["exact"] and (tmp_path / "back.json").read_bytes() == path.read_bytes()


def test_a_file_whose_records_differ_in_keys_says_it_is_not_byte_equal(
    tmp_path: Path, tau2_sample: Path
) -> None:
    data = json.loads(tau2_sample.read_bytes())
    assistant = next(m for m in data["simulations"][1]["messages"] if m["role"] == "assistant")
    del assistant["raw_data"]  # one assistant message without a key the others have
    path = _written(tmp_path, data)
    _ingest(tmp_path / "w.duckdb", path)
    summary = _export(tmp_path / "w.duckdb", path, tmp_path / "back.json")
    assert summary["inexact"] == ["messages of role assistant: 2 key orders"]
    assert not summary["exact"] and summary["same_as_source"] is False
    back = json.loads((tmp_path / "back.json").read_bytes())
    assert len(back["simulations"]) == 8 and back["info"] == data["info"]


def test_the_command_exports_by_source_path_and_refuses_an_unknown_run(
    tmp_path: Path, tau2_sample: Path
) -> None:
    wh, out = str(tmp_path / "w.duckdb"), tmp_path / "back.json"
    assert (
        runner.invoke(app, ["ingest", "tau2", str(tau2_sample), "--warehouse", wh]).exit_code == 0
    )
    args = ["export", "tau2-results", "--out", str(out), "--warehouse", wh, "--json"]
    done = runner.invoke(app, [*args, "--source", str(tau2_sample)])
    assert done.exit_code == 0, done.output
    summary = json.loads(done.stdout)
    assert (summary["exact"], summary["same_as_source"], summary["n_simulations"]) == (
        True,
        True,
        8,
    )
    assert out.read_bytes() == tau2_sample.read_bytes()
    refused = runner.invoke(app, [*args, "--run", "tau2-nope"])
    assert refused.exit_code == 2
    assert "no such run" in json.loads(refused.stdout)["error"]
    neither = runner.invoke(app, args)
    assert neither.exit_code == 2 and "--run RUN_ID or --source FILE" in neither.stdout
