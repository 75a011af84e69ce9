"""The verl data writer: rows, splits, parquet (no verl needed)."""

from __future__ import annotations

from pathlib import Path

import orjson
import pyarrow.parquet as pq
import pytest

from taskforge.contracts import Task
from taskforge.domains import get_domain
from taskforge.env.db import Database
from taskforge.rollout.prompts import GREETING
from tests.unit.trainer_adapters.conftest import honest_dialogue
from trainer_adapters.verl.data import RowOptions, make_rows, opening_messages, write_parquet
from trainer_adapters.verl.inputs import AGENT_NAME, episode_inputs
from trainer_adapters.verl.user import UserSimulator


@pytest.fixture(scope="module")
def openings(seed_tasks: list[Task], db: Database) -> dict[str, str]:
    return opening_messages(seed_tasks, db, UserSimulator())


def test_openings_are_the_scripted_users_first_message(
    openings: dict[str, str], seed_tasks: list[Task], db: Database
) -> None:
    for task in seed_tasks:
        dialogue = honest_dialogue(task, db)
        assert dialogue[0].content == GREETING
        assert openings[task.id] == dialogue[1].content


def test_rows_carry_prompt_task_db_and_tools(
    openings: dict[str, str], seed_tasks: list[Task], db: Database
) -> None:
    retail = get_domain("retail")
    rows = make_rows(
        {"train": seed_tasks[:3], "val": seed_tasks[3:]}, db, retail, openings, RowOptions()
    )
    assert [len(rows["train"]), len(rows["val"])] == [3, 1]
    row = rows["train"][1]
    task = seed_tasks[1]
    assert row["agent_name"] == AGENT_NAME and row["data_source"] == "taskforge/retail"
    assert row["reward_model"]["ground_truth"] == task.id
    system, greeting, first = row["prompt"]
    assert system["role"] == "system" and retail.policy.strip()[:200] in system["content"]
    assert greeting == {"role": "assistant", "content": GREETING}
    assert first == {"role": "user", "content": openings[task.id]}
    extra = row["extra_info"]
    assert extra["index"] == 1 and extra["split"] == "train" and extra["task_id"] == task.id
    assert set(extra["tools_kwargs"]) == set(retail.toolkit_cls.specs)
    assert extra["tools_kwargs"]["cancel_pending_order"] == {"create_kwargs": {"task_id": task.id}}
    inputs = episode_inputs(extra)
    assert inputs.task == task and inputs.db.hash == db.hash == extra["db_hash"]
    assert orjson.loads(extra["db"]) == db.to_dict()
    assert rows["val"][0]["extra_info"]["index"] == 0


def test_parquet_round_trip_keeps_rows_and_stores_the_db_once(
    tmp_path: Path, openings: dict[str, str], seed_tasks: list[Task], db: Database
) -> None:
    rows = make_rows({"train": seed_tasks}, db, get_domain("retail"), openings, RowOptions())
    path = tmp_path / "train.parquet"
    write_parquet(path, rows["train"])
    assert pq.read_table(path).to_pylist() == rows["train"]
    db_bytes = len(rows["train"][0]["extra_info"]["db"])
    assert path.stat().st_size < db_bytes  # four copies of the DB, dictionary-encoded once


def test_db_file_mode_names_the_file(
    tmp_path: Path, openings: dict[str, str], seed_tasks: list[Task], db: Database
) -> None:
    db_file = tmp_path / "db.json"
    db_file.write_bytes(orjson.dumps(db.to_dict()))
    options = RowOptions(db_mode="file", db_file=db_file)
    extra = make_rows({"train": seed_tasks[:1]}, db, get_domain("retail"), openings, options)[
        "train"
    ][0]["extra_info"]
    assert extra["db"] == "" and extra["db_path"] == str(db_file.resolve())
    assert episode_inputs(extra).db.hash == db.hash


def test_rows_of_another_writer_are_refused() -> None:
    from taskforge.errors import DataError

    with pytest.raises(DataError, match=r"extra_info\.task: missing"):
        episode_inputs({"index": 0})
    with pytest.raises(DataError, match=r"extra_info\.task: not a task"):
        episode_inputs({"task": '{"id": 1}', "db": "{}"})
