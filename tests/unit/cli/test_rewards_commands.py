"""``taskforge rewards show|probe`` as a user runs them."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from typer.testing import CliRunner

from taskforge.cli.app import app
from taskforge.rewards import PRESETS

runner = CliRunner()
REPO = Path(__file__).resolve().parents[3]
SEED_TASKS = str(REPO / "datasets" / "retail" / "seed_tasks.json")


def _run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_show_prints_a_loadable_spec_and_its_hash(tmp_path: Path) -> None:
    code, out, _ = _run("rewards", "show", "--spec", "raft")
    assert code == 0 and out.startswith(f"# spec_hash: {PRESETS['raft'].spec_hash()}\n")
    path = tmp_path / "mine.yaml"
    data = yaml.safe_load(out)
    data["components"][0]["weight"] = 2.0
    path.write_text(yaml.safe_dump(data))
    code, out, _ = _run("rewards", "show", "--spec", str(path), "--json")
    shown = json.loads(out)
    assert code == 0 and shown["spec"]["components"][0]["weight"] == 2.0
    assert shown["spec_hash"] != PRESETS["raft"].spec_hash()


def test_probe_json_under_raft_passes(tmp_path: Path) -> None:
    code, out, _ = _run("rewards", "probe", "--spec", "raft", "--tasks", SEED_TASKS, "--json")
    assert code == 0
    table = json.loads(out)
    rows = {r["probe"]: r for r in table["rows"]}
    n_seed = len(json.loads(Path(SEED_TASKS).read_text()))
    assert rows["honest"]["mean_score"] == 1.0 and table["n_tasks"] == n_seed
    assert all(r["n_not_below"] == 0 for r in rows.values())
    assert rows["tool_call_loop"]["max_score"] < 1.0


def test_probe_sparse_spec_reports_but_does_not_fail() -> None:
    code, _, err = _run("rewards", "probe", "--spec", "success-only", "--tasks", SEED_TASKS)
    assert code == 0 and "tool_call_loop" in err and "sparse spec" in err


def test_a_hackable_spec_exits_1_naming_the_probes(tmp_path: Path) -> None:
    weak = {
        "name": "weak",
        "components": [
            {"kind": "task_success", "weight": 1.0},
            {"kind": "token_length", "weight": 0.2},
        ],
    }
    path = tmp_path / "weak.json"
    path.write_text(json.dumps(weak))
    code, _, err = _run("rewards", "probe", "--spec", str(path), "--tasks", SEED_TASKS)
    line = " ".join(err.split())
    assert code == 1 and "reward hackable" in line and "'weak'" in line
    n_seed = len(json.loads(Path(SEED_TASKS).read_text()))
    assert (
        f"invalid_calls ({n_seed} task(s)" in line
        and "padded_reasoning" not in line.split("hackable")[1]
    )


def test_bad_spec_is_one_line_and_exit_2(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(
        "name: x\ncomponents:\n  - {kind: repeated_calls, weight: 1, params: {max_identical: 0}}\n"
    )
    code, out, err = _run("rewards", "show", "--spec", str(path))
    assert code == 2 and out == ""
    assert str(path) in err.replace("\n", "") and "components.0.params.max_identical" in err
    code, _, err = _run("rewards", "probe", "--spec", "nope", "--tasks", SEED_TASKS)
    assert code == 2 and "not a reward spec preset" in err
