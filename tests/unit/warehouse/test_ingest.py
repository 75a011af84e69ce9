"""Ingest: everything lands once, all or nothing per file, bad records named or quarantined."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest

from taskforge.errors import DataError
from taskforge.warehouse import Warehouse, get_adapter, ingest_paths, input_files
from tests.unit.warehouse.conftest import episodes, make_run, write_shard

RESULTS = "gpt-4.1_retail_test_1trial.json"


def _ingest(wh_path: Path, fmt: str, *paths: Path, skip_bad: bool = False) -> list[Any]:
    adapter = get_adapter(fmt)
    return ingest_paths(wh_path, adapter, input_files(adapter, list(paths)), skip_bad)


def _counts(path: Path) -> dict[str, int]:
    with Warehouse.open(path, read_only=True) as wh:
        return wh.counts()


def test_tau2_results_land_whole_and_once(tmp_path: Path, tau2_dir: Path) -> None:
    raw = json.loads((tau2_dir / "results" / RESULTS).read_text())
    wh_path = tmp_path / "w.duckdb"
    _ingest(wh_path, "tau2", tau2_dir / "results")
    counts = _counts(wh_path)
    sims = raw["simulations"]
    assert counts["trajectories"] == len(sims) == 40
    assert counts["messages"] == sum(len(s["messages"]) for s in sims)
    assert counts["tool_calls"] == sum(
        len(m.get("tool_calls") or []) for s in sims for m in s["messages"]
    )
    assert counts["tasks"] == len(raw["tasks"]) and counts["runs"] == 1
    with Warehouse.open(wh_path, read_only=True) as wh:
        pass_1 = wh.scalar("SELECT pass_1 FROM pass_k_run")
        calls = wh.query("SELECT name, arguments, result, tool_type FROM tool_calls").to_dicts()
    mean = sum(s["reward_info"]["reward"] for s in sims) / len(sims)
    assert pass_1 == pytest.approx(mean)
    assert all(c["result"] is not None for c in calls)
    assert {c["tool_type"] for c in calls} <= {"read", "write", "generic"}
    results = _ingest(wh_path, "tau2", tau2_dir / "results")
    assert results[0].already_ingested and _counts(wh_path) == counts


def test_dir_format_is_the_same_run(tmp_path: Path, tau2_dir: Path) -> None:
    raw = json.loads((tau2_dir / "results" / RESULTS).read_text())
    folder = tmp_path / "run"
    (folder / "simulations").mkdir(parents=True)
    for sim in raw["simulations"]:
        (folder / "simulations" / f"{sim['id']}.json").write_text(json.dumps(sim, indent=2))
    meta = {k: v for k, v in raw.items() if k != "simulations"} | {"format_version": 2}
    (folder / "results.json").write_text(json.dumps(meta))
    wh_path = tmp_path / "w.duckdb"
    _ingest(wh_path, "tau2", folder)
    counts = _counts(wh_path)
    assert counts["trajectories"] == 40
    shutil.copy(tau2_dir / "results" / RESULTS, tmp_path / "single.json")
    results = _ingest(wh_path, "tau2", tmp_path / "single.json")
    assert results[0].n_new == 0
    after = _counts(wh_path)
    assert {k: v for k, v in after.items() if k != "ingested_files"} == {
        k: v for k, v in counts.items() if k != "ingested_files"
    }


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda text: text[: len(text) // 2], "not valid JSON"),
        (
            lambda text: _edit(text, lambda d: d["simulations"][5].pop("messages")),
            r"simulations: record #5 .*field messages: Field required",
        ),
        (
            lambda text: _edit(text, lambda d: d["simulations"][7].update(trial="first")),
            r"simulations: record #7 .*field trial",
        ),
    ],
)
def test_bad_file_changes_nothing(
    tmp_path: Path, tau2_dir: Path, mutate: Any, message: str
) -> None:
    wh_path = tmp_path / "w.duckdb"
    _ingest(wh_path, "tau2", tau2_dir / "results")
    before = _counts(wh_path)
    bad = tmp_path / "bad.json"
    bad.write_text(mutate((tau2_dir / "results" / RESULTS).read_text()))
    with pytest.raises(DataError, match=message) as err:
        _ingest(wh_path, "tau2", bad)
    assert str(bad) in str(err.value) and "\n" not in str(err.value)
    assert _counts(wh_path) == before


def _edit(text: str, change: Any) -> str:
    data = json.loads(text)
    data["info"]["git_commit"] = "edited"  # a different run, so nothing would be deduplicated
    change(data)
    return json.dumps(data)


def test_skip_bad_quarantines_and_lands_the_rest(tmp_path: Path, tau2_dir: Path) -> None:
    data = json.loads((tau2_dir / "results" / RESULTS).read_text())
    data["simulations"][3]["termination_reason"] = "gave_up"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(data))
    wh_path = tmp_path / "w.duckdb"
    _ingest(wh_path, "tau2", bad, skip_bad=True)
    with Warehouse.open(wh_path, read_only=True) as wh:
        assert wh.counts()["trajectories"] == 39
        row = wh.query("SELECT record_index, record_id, reason FROM quarantine").to_dicts()
    assert row == [
        {"record_index": 3, "record_id": data["simulations"][3]["id"], "reason": row[0]["reason"]}
    ]
    assert "field termination_reason" in row[0]["reason"]


def test_jsonl_shards_folder_ingests_only_new_shards(tmp_path: Path, seed_tasks: list) -> None:  # type: ignore[type-arg]
    shards, wh_path = tmp_path / "shards", tmp_path / "w.duckdb"
    run = make_run()
    write_shard(shards / "w0-0.jsonl", run, seed_tasks[:5], episodes(seed_tasks[:5], 4))
    (shards / ".w1-0.jsonl.123.tmp").write_text('{"half": ')
    results = _ingest(wh_path, "jsonl", shards)
    assert [r.n_new for r in results] == [20]
    write_shard(shards / "w1-0.jsonl", run, seed_tasks[5:8], episodes(seed_tasks[5:8], 4))
    results = _ingest(wh_path, "jsonl", shards)
    assert [(r.already_ingested, r.n_new) for r in results] == [(True, 0), (False, 12)]
    with Warehouse.open(wh_path, read_only=True) as wh:
        assert wh.counts()["trajectories"] == 32
        rows = wh.query("SELECT n_trials, pass_1, pass_2, pass_4 FROM pass_k_task").to_dicts()
        by_origin = wh.query("SELECT * FROM success_by_origin").to_dicts()
        writes = wh.scalar("SELECT sum(n_write_calls) FROM write_calls")
    assert all(
        r == {"n_trials": 4, "pass_1": 0.5, "pass_2": pytest.approx(1 / 6), "pass_4": 0.0}
        for r in rows
    )
    assert by_origin == [{"origin": "seed", "n": 32, "success_rate": 0.5}]
    assert writes > 0


def test_trajectory_of_unknown_run_or_task_is_an_error(tmp_path: Path, seed_tasks: list) -> None:  # type: ignore[type-arg]
    path = tmp_path / "s.jsonl"
    write_shard(path, make_run(), seed_tasks[:1], episodes(seed_tasks[1:2], 1))
    with pytest.raises(DataError, match="field task_id: unknown task"):
        _ingest(tmp_path / "w.duckdb", "jsonl", path)
    lines = path.read_text().splitlines()
    path.write_text("\n".join(lines[1:]) + "\n")
    with pytest.raises(DataError, match="unknown run"):
        _ingest(tmp_path / "w.duckdb", "jsonl", path)


def test_jsonl_bad_line_is_named(tmp_path: Path, seed_tasks: list) -> None:  # type: ignore[type-arg]
    path = write_shard(
        tmp_path / "s.jsonl", make_run(), seed_tasks[:2], episodes(seed_tasks[:2], 1)
    )
    lines = path.read_text().splitlines()
    record = json.loads(lines[3])
    record["trajectory"]["messages"][0]["role"] = "robot"
    lines[3] = json.dumps(record)
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(
        DataError, match=r"s.jsonl: record line 4 .*field trajectory.messages.0.role"
    ):
        _ingest(tmp_path / "w.duckdb", "jsonl", path)
    _ingest(tmp_path / "w.duckdb", "jsonl", path, skip_bad=True)
    assert _counts(tmp_path / "w.duckdb")["trajectories"] == 1


def test_worker_processes_land_the_same_rows(
    tmp_path: Path,
    seed_tasks: list,  # type: ignore[type-arg]
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    spill = tmp_path / "tmp"
    spill.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(spill))
    shards = tmp_path / "shards"
    for i in range(3):
        run = make_run(f"run-{i}")
        tasks = seed_tasks[3 * i : 3 * i + 3]
        write_shard(shards / f"w{i}.jsonl", run, tasks, episodes(tasks, 2))
    adapter = get_adapter("jsonl")
    files = input_files(adapter, [shards])
    tables = {}
    for workers in (1, 2):
        wh_path = tmp_path / f"w{workers}.duckdb"
        results = ingest_paths(wh_path, adapter, files, workers=workers)
        assert [r.n_new for r in results] == [6, 6, 6]
        with Warehouse.open(wh_path, read_only=True) as wh:
            tables[workers] = {
                name: wh.query(f"SELECT * {skip} FROM {name} ORDER BY ALL").rows()
                for name, skip in [("runs", "EXCLUDE (ingested_at)")]
                + [(n, "") for n in ("tasks", "trajectories", "messages", "tool_calls")]
            }
    assert tables[1] == tables[2] and len(tables[1]["messages"]) > 50
    assert not list(spill.iterdir())  # the workers' Arrow files are gone
