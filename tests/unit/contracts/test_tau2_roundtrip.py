"""tau2's tasks and simulations parse into the contracts and serialize back to equal JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from taskforge.contracts import Task, Tau2Results, Trajectory
from taskforge.contracts.io import load_results, load_tasks
from taskforge.errors import DataError, DataWarning


def test_every_tau2_task_round_trips(tau2_dir: Path) -> None:
    raw = json.loads((tau2_dir / "tasks.json").read_text())
    assert len(raw) == 114
    for record in raw:
        assert Task.model_validate(record).to_json_dict() == record


def test_every_simulation_round_trips(tau2_dir: Path) -> None:
    """Results written by tau2 before 1.0 (results/) and by 1.0.1 (formats/, every voice and
    streaming field written, null or not)."""
    paths = sorted((tau2_dir / "results").glob("*.json"))
    paths += sorted((tau2_dir / "formats").glob("*.json"))
    assert len(paths) >= 2
    for path in paths:
        raw = json.loads(path.read_text())
        assert raw["simulations"], path
        for sim in raw["simulations"]:
            assert Trajectory.model_validate(sim).to_json_dict() == sim
        assert Tau2Results.model_validate(raw).to_json_dict() == raw
        assert load_results(path).to_json_dict() == raw


def test_tool_calls_keep_arguments_and_requestor(tau2_dir: Path) -> None:
    results = load_results(tau2_dir / "results" / "gpt-4.1_retail_test_1trial.json")
    calls = [c for s in results.simulations for c in s.tool_calls()]
    assert len(calls) > 100
    assert {c.requestor for c in calls} == {"assistant"}
    assert all(isinstance(c.arguments, dict) and c.id for c in calls)


def test_unknown_field_is_rejected_not_dropped() -> None:
    record = {"id": "t", "user_scenario": {"instructions": "hi"}, "surprise": 1}
    with pytest.raises(ValueError, match="surprise"):
        Task.model_validate(record)


def test_bad_task_file_names_file_record_and_field(tmp_path: Path) -> None:
    path = tmp_path / "tasks.json"
    good = {"id": "a", "user_scenario": {"instructions": "x"}}
    bad = {
        "id": "b",
        "user_scenario": {"instructions": "x"},
        "evaluation_criteria": {"actions": [{"action_id": "b_0", "name": "cancel_pending_order"}]},
    }
    path.write_text(json.dumps([good, bad]))
    with pytest.raises(DataError) as err:
        load_tasks(path)
    message = str(err.value)
    assert str(path) in message and "#1 (id 'b')" in message
    assert "evaluation_criteria.actions.0.arguments" in message
    assert "\n" not in message


def test_duplicate_task_ids_are_an_error(tmp_path: Path) -> None:
    path = tmp_path / "tasks.json"
    task = {"id": "a", "user_scenario": {"instructions": "x"}}
    path.write_text(json.dumps([task, task]))
    with pytest.raises(DataError, match="duplicate task id"):
        load_tasks(path)


def test_results_missing_field_is_reported(tmp_path: Path, tau2_dir: Path) -> None:
    raw = json.loads((tau2_dir / "results" / "gpt-4.1_retail_test_1trial.json").read_text())
    del raw["simulations"][3]["termination_reason"]
    path = tmp_path / "results.json"
    path.write_text(json.dumps(raw))
    with pytest.raises(DataError, match=r"simulations: record #3 .*field termination_reason"):
        load_results(path)


def test_unknown_task_and_simulation_fields_in_tau2_files_warn_not_refuse(
    tmp_path: Path, tau2_dir: Path
) -> None:
    tasks = json.loads((tau2_dir / "tasks.json").read_text())
    tasks[3]["difficulty"] = "hard"
    tasks[7]["user_scenario"]["mood"] = "calm"
    (tmp_path / "tasks.json").write_text(json.dumps(tasks))
    with pytest.warns(DataWarning) as caught:
        loaded = load_tasks(tmp_path / "tasks.json")
    assert len(loaded) == 114 and loaded[3].to_json_dict() == {
        k: v for k, v in tasks[3].items() if k != "difficulty"
    }
    said = [str(w.message) for w in caught]
    assert len(said) == 2
    assert "field difficulty" in said[0] and f"record #3 (id {tasks[3]['id']!r})" in said[0]
    assert "field user_scenario.mood" in said[1] and "#7" in said[1]
    raw = json.loads((tau2_dir / "results" / "gpt-4.1_retail_test_1trial.json").read_text())
    raw["simulations"][4]["grader"] = "x"
    (tmp_path / "results.json").write_text(json.dumps(raw))
    with pytest.warns(DataWarning, match=r"simulations: field grader .* record #4"):
        assert len(load_results(tmp_path / "results.json").simulations) == 40


def test_a_bad_value_beside_an_unknown_field_is_still_an_error(tmp_path: Path) -> None:
    record = {"id": "a", "user_scenario": {"instructions": 3}, "surprise": 1}
    (tmp_path / "tasks.json").write_text(json.dumps([record]))
    with pytest.raises(DataError, match="user_scenario"):
        load_tasks(tmp_path / "tasks.json")
