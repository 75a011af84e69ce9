"""Ingest of verl training rollouts: the agent loop's episodes and verl's rollout dumps."""

from __future__ import annotations

import json
from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from taskforge.cli.app import app
from taskforge.contracts import Task, Trajectory, VerlEpisode
from taskforge.domains import get_domain
from taskforge.errors import DataError
from taskforge.warehouse import Warehouse, get_adapter, ingest_paths, input_files
from taskforge.warehouse.ingest.verl import run_id
from tests.unit.warehouse.conftest import episodes
from trainer_adapters.verl.data import RowOptions, make_rows, write_parquet
from trainer_adapters.verl.episode_log import close_all, write_episode


def _record(task: Task, trajectory: Trajectory, step: int, session: int) -> VerlEpisode:
    success = bool(trajectory.reward_info and trajectory.reward_info.reward == 1.0)
    return VerlEpisode(
        project="taskforge",
        experiment="exp",
        round=1,
        mode="raft",
        split="train",
        step=step,
        weights_step_min=step - 1,
        weights_step_max=step - 1,
        uid=f"uid-{task.id}",
        session=session,
        model="/ckpt/sft",
        user_model="taskforge/scripted-user",
        data_source="taskforge/retail",
        reward_spec="raft",
        reward={"score": 1.0 if success else -0.1, "task_success": float(success)},
        task=task,
        trajectory=trajectory,
    )


@pytest.fixture()
def rollout_dir(tmp_path: Path, seed_tasks: list[Task]) -> Path:
    """Step 3 of a run: two tasks, two samples each (one success, one failure per task)."""
    root = tmp_path / "run" / "rollout_data"
    tasks = seed_tasks[:2]
    for trajectory in episodes(tasks, 2):
        task = next(t for t in tasks if t.id == trajectory.task_id)
        write_episode(root / "episodes", _record(task, trajectory, 3, trajectory.trial or 0))
    close_all()
    return root


def _ingest(warehouse: Path, path: Path, skip_bad: bool = False) -> list[int]:
    adapter = get_adapter("verl")
    results = ingest_paths(warehouse, adapter, input_files(adapter, [path]), skip_bad)
    return [r.n_new for r in results]


def test_episodes_land_as_trajectories_of_their_step(tmp_path: Path, rollout_dir: Path) -> None:
    warehouse = tmp_path / "w.duckdb"
    assert sum(_ingest(warehouse, rollout_dir)) == 4
    rid = run_id("taskforge", "exp", "train", 3)
    with Warehouse.open(warehouse, read_only=True) as wh:
        run = wh.query("SELECT * FROM runs").to_dicts()
        assert [(r["run_id"], r["source"], r["round"]) for r in run] == [(rid, "verl", 1)]
        assert json.loads(run[0]["config"])["step"] == 3
        rows = wh.query(
            "SELECT task_id, trial, reward, task_uid, json_extract(extra, '$.info.verl') AS verl "
            "FROM trajectories ORDER BY task_id, trial"
        ).to_dicts()
        assert [(r["trial"], r["reward"]) for r in rows] == [(0, 1.0), (1, 0.0)] * 2
        assert all(r["task_uid"] for r in rows)
        context = json.loads(rows[0]["verl"])
        assert context["step"] == 3 and context["uid"].startswith("uid-")
        assert context["reward"]["score"] == 1.0 and context["source"] == "agent_loop"
        pass_k = wh.query("SELECT pass_1 FROM pass_k_run WHERE run_id = ?", [rid]).to_dicts()
        assert pass_k[0]["pass_1"] == pytest.approx(0.5)
    assert _ingest(warehouse, rollout_dir) == [0]  # idempotent


def test_a_line_still_being_written_waits_for_its_newline(
    tmp_path: Path, rollout_dir: Path
) -> None:
    shard = next(rollout_dir.rglob("*.jsonl"))
    whole = shard.read_bytes()
    lines = whole.splitlines(keepends=True)
    shard.write_bytes(b"".join(lines[:-1]) + lines[-1][:50])
    warehouse = tmp_path / "w.duckdb"
    assert _ingest(warehouse, shard) == [3]
    shard.write_bytes(whole)
    assert _ingest(warehouse, shard) == [1]


def test_bad_lines_fail_or_go_to_quarantine(tmp_path: Path, rollout_dir: Path) -> None:
    shard = next(rollout_dir.rglob("*.jsonl"))
    with shard.open("ab") as handle:
        handle.write(orjson.dumps({"type": "verl_episode", "split": "train"}) + b"\n")
    with pytest.raises(DataError, match=r"line 5.*task"):
        _ingest(tmp_path / "a.duckdb", shard)
    assert _ingest(tmp_path / "b.duckdb", shard, skip_bad=True) == [4]
    with Warehouse.open(tmp_path / "b.duckdb", read_only=True) as wh:
        assert wh.scalar("SELECT count(*) FROM quarantine") == 1


def _run_json(run_dir: Path, tasks: list[Task]) -> None:
    """What the launch script writes: run.json and the train file it names."""
    db = get_domain("retail").load_db()
    rows = make_rows(
        {"train": tasks}, db, get_domain("retail"), {t.id: "hi" for t in tasks}, RowOptions()
    )
    write_parquet(run_dir / "train.parquet", rows["train"])
    info = {
        "project": "taskforge",
        "experiment": "exp",
        "mode": "raft",
        "round": 1,
        "train_files": [str(run_dir / "train.parquet")],
        "val_files": [],
        "rollout_data_dir": str(run_dir / "rollout_data"),
        "validation_data_dir": str(run_dir / "validation_data"),
    }
    (run_dir / "run.json").write_text(json.dumps(info))


def _dump(path: Path, step: int, task_ids: list[str]) -> Path:
    lines = [
        {"input": "system ... user: hi", "output": f"answer {i}", "gts": tid, "score": 0.5 * i,
         "step": step, "uid": f"u{i}_0_0"}
        for i, tid in enumerate(task_ids)
    ]  # fmt: skip
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


def test_dumps_of_steps_the_loop_recorded_add_nothing_others_land_as_text(
    tmp_path: Path, rollout_dir: Path, seed_tasks: list[Task]
) -> None:
    tasks = seed_tasks[:2]
    _run_json(rollout_dir.parent, tasks)
    _dump(rollout_dir / "3.jsonl", 3, [t.id for t in tasks])
    _dump(rollout_dir / "5.jsonl", 5, [t.id for t in tasks])
    warehouse = tmp_path / "w.duckdb"
    result = CliRunner().invoke(
        app, ["ingest", "verl", str(rollout_dir), "--warehouse", str(warehouse), "--json"]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["trajectories_new"] == 4 + 2
    with Warehouse.open(warehouse, read_only=True) as wh:
        text = wh.query(
            "SELECT t.task_id, t.n_messages, t.reward, json_extract(t.extra, '$.info.verl') AS v, "
            "r.config FROM trajectories t JOIN runs r USING (run_id) "
            "WHERE r.run_id = ? ORDER BY t.task_id",
            [run_id("taskforge", "exp", "train", 5)],
        ).to_dicts()
    assert [r["task_id"] for r in text] == sorted(t.id for t in tasks)
    assert all(r["n_messages"] == 2 and r["reward"] is None for r in text)
    assert {json.loads(r["v"])["score"] for r in text} == {0.0, 0.5}
    assert json.loads(text[0]["config"])["step"] == 5


def test_a_dump_without_its_run_file_is_refused(tmp_path: Path, seed_tasks: list[Task]) -> None:
    dump = _dump(tmp_path / "7.jsonl", 7, [seed_tasks[0].id])
    with pytest.raises(DataError, match=r"no run\.json"):
        _ingest(tmp_path / "w.duckdb", dump)
