"""``bench warehouse`` at a tiny size: structure, agreement with the baseline, valid shards."""

from __future__ import annotations

import json
from pathlib import Path

import orjson
from pydantic import TypeAdapter
from typer.testing import CliRunner

from taskforge.cli.app import app
from taskforge.contracts import JsonlRecord, TrajectoryRecord
from taskforge.warehouse.bench import (
    BASELINE_QUESTIONS,
    TOOL_KINDS,
    run_warehouse_bench,
    synthetic_shards,
)
from taskforge.warehouse.views import VIEWS

RECORD: TypeAdapter[object] = TypeAdapter(JsonlRecord)


def test_synthetic_shards_validate_and_are_deterministic(tmp_path: Path) -> None:
    first = synthetic_shards(tmp_path / "a", 300, seed=7, shard_size=120)
    again = synthetic_shards(tmp_path / "b", 300, seed=7, shard_size=120)
    assert first["n_shards"] == 3 and first["n_trajectories"] == 300
    assert 15 <= first["n_messages"] / 300 <= 25
    records = []
    for path in first["paths"]:
        for line in Path(path).read_bytes().splitlines():
            records.append(RECORD.validate_python(orjson.loads(line)))
    trajectories = [r.trajectory for r in records if isinstance(r, TrajectoryRecord)]
    assert len(trajectories) == 300
    assert sum(len(t.messages) for t in trajectories) == first["n_messages"]
    calls = [c for t in trajectories for c in t.tool_calls()]
    assert len(calls) == first["n_tool_calls"] and {c.name for c in calls} <= set(TOOL_KINDS)
    tool_ids = {m.id for t in trajectories for m in t.messages if m.role == "tool"}
    assert {c.id for c in calls} == tool_ids
    assert any(m.error for t in trajectories for m in t.messages if m.role == "tool")
    assert {t.trial for t in trajectories} == {0, 1, 2, 3}
    assert any(t.reward_info and t.reward_info.diff for t in trajectories)
    for a, b in zip(first["paths"], again["paths"], strict=True):
        assert Path(a).read_bytes() == Path(b).read_bytes()


def test_bench_structure_and_agreement(tmp_path: Path) -> None:
    report = run_warehouse_bench([300], tmp_path / "work", seed=1, keep=True, repeat=1)
    assert report["agree"] is True
    assert set(report["targets"]) >= {"ingest_ok", "views_ok", "size"}
    result = report["sizes"]["300"]
    assert all(result["agreement"].values())
    generated = result["generated"]
    assert result["warehouse_counts"] == {
        "runs": generated["n_runs"],
        "tasks": generated["n_tasks"],
        "trajectories": generated["n_trajectories"],
        "messages": generated["n_messages"],
        "tool_calls": generated["n_tool_calls"],
    }
    assert result["n_trajectories"] == 300
    for side in ("taskforge", "baseline"):
        assert set(result["ingest"][side]) == {"seconds", "trajectories_per_s", "messages_per_s"}
    assert set(result["views"]) == set(BASELINE_QUESTIONS) <= set(VIEWS)
    for view in result["views"].values():
        assert set(view) == {"taskforge_s", "baseline_s", "ratio"}
    assert result["max_view_s"] == max(v["taskforge_s"] for v in result["views"].values())
    assert (tmp_path / "work" / "size-300" / "warehouse.duckdb").exists()


def test_bench_cleans_up(tmp_path: Path) -> None:
    run_warehouse_bench([50], tmp_path / "work", seed=2, repeat=1)
    assert not (tmp_path / "work" / "size-50").exists()


def test_cli_bench_warehouse_json(tmp_path: Path) -> None:
    args = ["bench", "warehouse", "--sizes", "200", "--json", "--repeat", "1"]
    result = CliRunner().invoke(app, [*args, "--workdir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["agree"] is True
    assert report["sizes"]["200"]["n_trajectories"] == 200


def test_cli_bench_warehouse_bad_sizes() -> None:
    result = CliRunner().invoke(app, ["bench", "warehouse", "--sizes", "ten"])
    assert result.exit_code == 2
