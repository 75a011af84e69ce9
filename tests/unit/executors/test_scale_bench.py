"""``bench scale`` on a tiny size, local executor only (the Ray runs: tests/integration)."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from taskforge.cli.app import app
from taskforge.llm.fake_server import USER_STOP, short_episode_script

ARGS = ["bench", "scale", "--tasks", "3", "--trials", "2", "--latency-ms", "5"]


def test_local_only_bench_reports_the_rollout_it_played(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, [*ARGS, "--workers", "", "--workdir", str(tmp_path), "--json"])
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["episodes"] == 6 and report["latency_ms"] == 5.0
    assert report["llm_calls_per_episode"] == 4.0  # user, agent (tool call), agent, user stop
    local = report["local"]
    assert local["executor"] == "local" and local["episodes"] == 6 and local["workers"] == 1
    assert local["episodes_per_s"] > 0 and local["run_id"].startswith("rollout-")
    assert local["pass_k"]["1"] == 0.0 and local["pass_k"]["3"] is None  # no write was made
    assert "ray" not in report and "landing" not in report
    assert (tmp_path / "local" / "w.duckdb").exists()


def test_bad_sizes_fail_in_one_line() -> None:
    runner = CliRunner()
    bad = runner.invoke(app, [*ARGS, "--workers", "1,x"])
    assert bad.exit_code == 2 and "--workers: expected comma-separated integers" in bad.stderr
    zero = runner.invoke(app, [*ARGS, "--workers", "0"])
    assert zero.exit_code == 2 and "every Ray worker count must be >= 1" in zero.stderr
    many = runner.invoke(app, ["bench", "scale", "--tasks", "100000", "--workers", ""])
    assert many.exit_code == 2 and "fewer than --tasks 100000 tasks" in many.stderr


def test_the_short_episode_calls_a_tool_needing_no_argument_then_stops() -> None:
    tools = [
        {"type": "function", "function": {"name": "f", "parameters": {"required": ["x"]}}},
        {"type": "function", "function": {"name": "g", "parameters": {"properties": {}}}},
    ]
    greeting = {"role": "user", "content": "Hi! How can I help you today?"}
    assert short_episode_script({"messages": [greeting]})["content"] != USER_STOP
    call = short_episode_script({"messages": [], "tools": tools})
    assert call["tool_calls"][0]["function"]["name"] == "g"
    answered = [*[greeting], {"role": "user", "content": "Here is what I found."}]
    assert short_episode_script({"messages": answered})["content"] == USER_STOP
