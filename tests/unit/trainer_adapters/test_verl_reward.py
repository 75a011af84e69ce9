"""compute_score: the reward spec applied to the episode the agent loop recorded (no verl)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from taskforge.contracts import Task
from taskforge.domains import get_domain
from taskforge.env.db import Database
from taskforge.rewards import load_spec, score_messages
from taskforge.rollout.prompts import GREETING
from tests.unit.trainer_adapters.conftest import honest_dialogue
from trainer_adapters.verl.data import RowOptions, make_rows
from trainer_adapters.verl.episode import Episode
from trainer_adapters.verl.inputs import EPISODE_FIELD
from trainer_adapters.verl.reward import compute_score

RETAIL = get_domain("retail")


def _row_extra(task: Task, db: Database, first: str) -> dict[str, Any]:
    rows = make_rows({"train": [task]}, db, RETAIL, {task.id: first}, RowOptions())
    return dict(rows["train"][0]["extra_info"])


def _played(task: Task, db: Database, honest: bool) -> Episode:
    dialogue = honest_dialogue(task, db)
    opening = [
        {"role": "assistant", "content": GREETING},
        {"role": "user", "content": dialogue[1].content},
    ]
    episode = Episode("ep", task, db, RETAIL.toolkit_cls, opening)
    for message in dialogue[2:]:
        if message.role == "assistant":
            if not honest and any(
                RETAIL.toolkit_cls.specs[c.name].mutates for c in message.tool_calls or []
            ):
                episode.add_agent("Done, your request is handled. ###STOP###", [], {})
                break  # claims success without the write
            calls = [(c.name, json.dumps(c.arguments), None) for c in message.tool_calls or []]
            for call in episode.add_agent(message.content or "", calls, {}):
                episode.answer(call.id, *episode.execute(call.name, call.arguments))
            episode.record_answers()
        elif message.role == "user":
            episode.add_user(message.content or "")
    return episode


def test_compute_score_is_the_specs_reward_of_the_recorded_episode(
    seed_tasks: list[Task], db: Database
) -> None:
    task = seed_tasks[0]
    episode = _played(task, db, honest=True)
    trajectory = episode.trajectory()
    extra = _row_extra(task, db, trajectory.messages[1].content or "")
    extra[EPISODE_FIELD] = trajectory.model_dump_json()
    result = compute_score("taskforge/retail", "decoded text", task.id, extra)
    expected = score_messages(
        trajectory.messages,
        task,
        load_spec("raft"),
        db=db,
        termination=trajectory.termination_reason,
    ).as_flat_dict()
    assert result == expected
    assert result["task_success"] == 1.0 and result["score"] > 0
    assert (
        compute_score("taskforge/retail", "", task.id, extra, spec="success-only")["score"] == 1.0
    )


def test_claimed_success_without_the_write_scores_below_the_honest_episode(
    seed_tasks: list[Task], db: Database
) -> None:
    task = seed_tasks[0]
    scores = []
    for honest in (True, False):
        trajectory = _played(task, db, honest).trajectory()
        extra = _row_extra(task, db, trajectory.messages[1].content or "")
        extra[EPISODE_FIELD] = trajectory.model_dump_json()
        scores.append(compute_score("taskforge/retail", "", task.id, extra)["score"])
    assert scores[1] <= 0 < scores[0]


def test_rollouts_not_played_by_the_taskforge_loop_are_refused(
    seed_tasks: list[Task], db: Database
) -> None:
    task = seed_tasks[0]
    extra = _row_extra(task, db, "hi")
    with pytest.raises(ValueError, match="no 'taskforge_episode'"):
        compute_score("taskforge/retail", "", task.id, extra)
    other = _played(seed_tasks[1], db, honest=True).trajectory()
    extra[EPISODE_FIELD] = other.model_dump_json()
    with pytest.raises(ValueError, match="recorded an episode of task"):
        compute_score("taskforge/retail", "", task.id, extra)
