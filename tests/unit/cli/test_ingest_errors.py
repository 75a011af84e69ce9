"""`taskforge ingest` says what did not land; errors print the exact command to copy, or JSON."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from taskforge.cli.app import app
from taskforge.cli.common import App
from taskforge.errors import TaskforgeError

runner = CliRunner()
OLD = Path("results") / "gpt-4.1_retail_test_1trial.json"


def _run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture()
def sample(tau2_sample: Path) -> Path:
    """tau2 1.0.1's own results file."""
    return tau2_sample


def _broken(sample: Path, tmp_path: Path, indices: list[int]) -> Path:
    data: dict[str, Any] = json.loads(sample.read_text())
    data = copy.deepcopy(data)
    for i in indices:
        data["simulations"][i]["termination_reason"] = "handed_off"
    path = tmp_path / "results.json"
    path.write_text(json.dumps(data))
    return path


@pytest.mark.shared
def test_tau2_101_sample_lands_and_evaluates_8_of_8(
    sample: Path, tau2_dir: Path, tmp_path: Path
) -> None:
    wh = str(tmp_path / "w.duckdb")
    code, out, err = _run("ingest", "tau2", str(sample), "--warehouse", wh, "--json")
    assert code == 0, err
    report = json.loads(out)
    assert (report["trajectories_new"], report["quarantined"], report["warnings"]) == (8, 0, [])
    args = ["eval", "tau2-results", str(sample), "--db", str(tau2_dir / "db.json"), "--json"]
    code, out, err = _run(*args)
    assert code == 0, err
    summary = json.loads(out)["summary"]
    assert summary["n"] == 8 and summary["agree"] == 8


@pytest.mark.shared
def test_an_unknown_task_field_is_a_warning_line_beside_the_json(
    sample: Path, tau2_dir: Path, tmp_path: Path
) -> None:
    data = json.loads(sample.read_text())
    data["tasks"][1]["difficulty"] = "hard"
    path = tmp_path / "results.json"
    path.write_text(json.dumps(data))
    args = ["eval", "tau2-results", str(path), "--db", str(tau2_dir / "db.json"), "--json"]
    code, out, err = _run(*args)
    assert code == 0, err
    assert json.loads(out)["summary"]["agree"] == 8  # stdout: the JSON and nothing else
    warned = [line for line in err.splitlines() if line.startswith("warning:")]
    assert len(warned) == 1 and "tasks: field difficulty" in warned[0]
    assert f"record #1 (id {data['tasks'][1]['id']!r})" in warned[0]


@pytest.mark.shared
def test_summary_names_the_quarantined_and_the_command_to_list_them(
    sample: Path, tmp_path: Path
) -> None:
    path, wh = _broken(sample, tmp_path, [1]), str(tmp_path / "w.duckdb")
    code, _, err = _run("ingest", "tau2", str(path), "--warehouse", wh, "--skip-bad")
    assert code == 0, err
    flat = " ".join(err.split())
    assert "7 new of 7 trajectories, 1 quarantined" in flat
    command = 'taskforge sql "SELECT source_path, record_index, record_id, reason FROM quarantine"'
    assert command in flat
    code, out, _ = _run("sql", command.split('"')[1], "--warehouse", wh, "--json")
    assert code == 0 and [r["record_index"] for r in json.loads(out)] == [1]


@pytest.mark.shared
def test_every_record_quarantined_exits_non_zero(sample: Path, tmp_path: Path) -> None:
    path, wh = _broken(sample, tmp_path, list(range(8))), str(tmp_path / "w.duckdb")
    args = ["ingest", "tau2", str(path), "--warehouse", wh, "--skip-bad"]
    code, out, _ = _run(*args, "--json")
    report = json.loads(out)
    assert code == 2 and report["quarantined"] == 8 and report["trajectories_new"] == 0
    assert "every record was quarantined" in report["error"] and "quarantine" in report["hint"]
    code, _, err = _run(*args)
    assert code == 2 and "error:" in err and "0 already ingested" in err


def test_a_json_error_is_a_json_object_on_stdout(tmp_path: Path) -> None:
    missing = tmp_path / "missing.json"
    code, out, _ = _run(
        "ingest", "tau2", str(missing), "--warehouse", str(tmp_path / "w"), "--json"
    )
    report = json.loads(out)
    assert code == 2 and set(report) == {"error", "hint"}
    assert str(missing) in report["error"]


def test_hints_print_the_exact_command_to_copy() -> None:
    demo = App()
    hint = "pip install 'taskforge[embed]'"

    @demo.command("fail")
    def fail(as_json: bool = False) -> None:
        raise TaskforgeError("needs [bold]the embed extra[/bold]", hint=hint)

    @demo.command("other")
    def other() -> None:  # a second command, so typer keeps the command name
        """Nothing."""

    result = runner.invoke(demo, ["fail"])
    assert result.exit_code == 2
    assert f"hint: {hint}" in result.stderr
    assert "needs [bold]the embed extra[/bold]" in result.stderr
    result = runner.invoke(demo, ["fail", "--as-json"])
    assert json.loads(result.stdout) == {
        "error": "needs [bold]the embed extra[/bold]",
        "hint": hint,
    }


@pytest.mark.shared
def test_one_query_says_which_pattern_each_failure_got(tau2_dir: Path, tmp_path: Path) -> None:
    wh = str(tmp_path / "w.duckdb")
    assert _run("ingest", "tau2", str(tau2_dir / OLD), "--warehouse", wh)[0] == 0
    mine = ["mine", "--warehouse", wh, "--embedder", "hashing", "--min-cluster-size", "2"]
    code, _, err = _run(*mine, "--db", str(tau2_dir / "db.json"))
    assert code == 0, err
    query = (
        "SELECT source_path, sim_id, task_id, trial, category, explanation, pattern, pattern_id, "
        "is_outlier, quarantined FROM failures ORDER BY task_id"
    )
    code, out, err = _run("sql", query, "--warehouse", wh, "--json")
    assert code == 0, err
    rows = json.loads(out)
    assert len(rows) == 6  # the file's failed simulations, each judged once
    assert all(r["source_path"] == str(tau2_dir / OLD) for r in rows)
    assert all(r["pattern"] and r["pattern_id"] and r["category"] for r in rows)
    assert {r["quarantined"] for r in rows} == {False}
