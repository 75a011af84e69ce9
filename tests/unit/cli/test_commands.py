"""The commands as a user runs them: JSON output, one-line errors, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from taskforge.cli.app import app

runner = CliRunner()


def _run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_tasks_audit_json(tau2_dir: Path) -> None:
    code, out, _ = _run(
        "tasks", "audit", str(tau2_dir / "tasks.json"), "--db", str(tau2_dir / "db.json"), "--json"
    )
    assert code == 0
    report = json.loads(out)
    assert report["summary"]["n_gold_errors"] == 18
    row = next(t for t in report["tasks"] if t["task_id"] == "105")
    assert set(row) == {"task_id", "n_gold_actions", "gold_errors", "db_changed"}
    assert row["gold_errors"][0]["is_write"] is True and row["db_changed"] is False


def test_eval_tau2_results_agrees_on_all_40(tau2_dir: Path) -> None:
    results = tau2_dir / "results" / "gpt-4.1_retail_test_1trial.json"
    code, out, _ = _run(
        "eval", "tau2-results", str(results), "--db", str(tau2_dir / "db.json"), "--json"
    )
    assert code == 0
    report = json.loads(out)
    assert report["summary"]["n"] == 40 and report["summary"]["agree"] == 40
    assert report["summary"]["reward_agree"] == 40 and report["summary"]["nl_judge"] is None
    assert set(report["simulations"][0]) >= {
        "simulation_id",
        "task_id",
        "trial",
        "recorded_db_reward",
        "recomputed_db_reward",
        "agree",
        "recorded_reward",
        "recomputed_reward",
        "reward_agree",
    }


def test_malformed_tasks_file_is_one_line_and_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "tasks.json"
    criteria = {"reward_basis": ["VIBES"]}
    record = {"id": "x", "user_scenario": {"instructions": "hi"}, "evaluation_criteria": criteria}
    bad.write_text(json.dumps([record]))
    code, out, err = _run("tasks", "audit", str(bad))
    assert code == 2 and out == ""
    line = err.strip()
    assert "\n" not in line and str(bad) in line.replace("\n", "")
    assert "record #0 (id 'x')" in line and "evaluation_criteria.reward_basis.0" in line
    bad.write_text("[1, 2")
    code, _, err = _run("tasks", "audit", str(bad))
    assert code == 2 and "not valid JSON" in err


def test_results_with_missing_field_exit_2(tmp_path: Path, tau2_dir: Path) -> None:
    raw = json.loads((tau2_dir / "results" / "gpt-4.1_retail_test_1trial.json").read_text())
    del raw["simulations"][0]["task_id"]
    path = tmp_path / "r.json"
    path.write_text(json.dumps(raw))
    code, _, err = _run("eval", "tau2-results", str(path), "--db", str(tau2_dir / "db.json"))
    assert code == 2 and "simulations: record #0" in err and "field task_id" in err


def test_missing_db_is_a_clear_error(tmp_path: Path) -> None:
    tasks = tmp_path / "t.json"
    tasks.write_text("[]")
    code, _, err = _run("tasks", "audit", str(tasks), "--db", str(tmp_path / "nope.json"))
    assert code == 2 and "no DB at" in err


def test_tools_schemas_with_substitutes(tau2_dir: Path) -> None:
    code, out, _ = _run("tools", "schemas", "--json")
    ours = json.loads(out)
    assert code == 0 and len(ours) == 16
    path = tau2_dir / "tool_schemas.json"
    code, out, _ = _run("tools", "schemas", "--tool-schemas", str(path), "--json")
    assert code == 0 and json.loads(out) == json.loads(path.read_text()) != ours


def test_schemas_check(tmp_path: Path) -> None:
    assert _run("schemas", "generate", "--out", str(tmp_path))[0] == 0
    assert _run("schemas", "generate", "--out", str(tmp_path), "--check")[0] == 0
    (tmp_path / "task.schema.json").write_text("{}")
    code, _, err = _run("schemas", "generate", "--out", str(tmp_path), "--check")
    assert code == 2 and "task.schema.json" in err


def test_db_generate_is_byte_identical(tmp_path: Path) -> None:
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    for path in (a, b):
        code, out, _ = _run(
            "db",
            "generate",
            "--seed",
            "3",
            "--users",
            "20",
            "--orders",
            "30",
            "--products",
            "6",
            "--out",
            str(path),
            "--json",
        )
        assert code == 0 and json.loads(out)["users"] == 20
    assert a.read_bytes() == b.read_bytes()
    code, _, err = _run("db", "generate", "--products", "999", "--out", str(tmp_path / "c.json"))
    assert code == 2 and "products" in err and not (tmp_path / "c.json").exists()


def test_bench_env_reports_ratios_against_baseline(tau2_dir: Path) -> None:
    code, out, _ = _run(
        "bench",
        "env",
        "--tasks",
        str(tau2_dir / "tasks.json"),
        "--db",
        str(tau2_dir / "db.json"),
        "--seconds",
        "0.2",
        "--json",
    )
    assert code == 0
    report = json.loads(out)
    assert report["n_tasks"] == 114
    assert (
        report["taskforge"]["evals_per_sec"] > 0 and report["baseline_naive"]["evals_per_sec"] > 0
    )
    ratio = report["taskforge"]["evals_per_sec"] / report["baseline_naive"]["evals_per_sec"]
    assert report["speedup"]["evals"] == pytest.approx(ratio, rel=0.01)
