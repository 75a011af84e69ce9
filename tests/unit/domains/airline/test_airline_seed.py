"""Airline seed tasks: the shipped file regenerates identically and every gold scores 1."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from taskforge.contracts import TerminationReason
from taskforge.contracts.io import load_tasks
from taskforge.domains import Domain
from taskforge.domains.airline.seed import SEED_FILE, sample_seed_tasks, write_seed_tasks
from taskforge.env.audit import audit_task
from taskforge.env.bench import gold_messages
from taskforge.env.evaluator import Evaluator


def test_shipped_seed_tasks_regenerate_identically(airline: Domain, tmp_path: Path) -> None:
    out = tmp_path / "seed_tasks.json"
    write_seed_tasks(airline.load_db(), out)
    assert json.loads(out.read_text()) == json.loads(SEED_FILE.read_text())


def test_seed_sampling_is_reproducible_and_seed_dependent(airline: Domain) -> None:
    db = airline.load_db()
    first = [t.model_dump() for t in sample_seed_tasks(db, 12, seed=3)]
    assert first == [t.model_dump() for t in sample_seed_tasks(db, 12, seed=3)]
    assert first != [t.model_dump() for t in sample_seed_tasks(db, 12, seed=4)]


def test_every_shipped_gold_replays_with_reward_one(airline: Domain) -> None:
    db = airline.load_db()
    tasks = load_tasks(SEED_FILE)
    evaluator = Evaluator(airline.toolkit_cls, db)
    for task in tasks:
        assert not audit_task(airline.toolkit_cls, db, task).gold_errors, task.id
        messages = gold_messages(airline.toolkit_cls, db, task)
        assert evaluator.evaluate(task, messages, TerminationReason.USER_STOP).reward == 1.0, (
            task.id
        )
    kinds = Counter(t.gold_actions()[-1].name for t in tasks)
    assert set(kinds) == {
        "cancel_reservation",
        "update_reservation_baggages",
        "update_reservation_flights",
        "update_reservation_passengers",
        "get_reservation_details",
    }
    reservations = [t.gold_actions()[1].arguments["reservation_id"] for t in tasks]
    assert len(set(reservations)) == len(tasks)


def test_too_many_tasks_is_a_data_error(airline: Domain) -> None:
    from taskforge.errors import DataError

    with pytest.raises(DataError, match="independent seed tasks"):
        sample_seed_tasks(airline.load_db(), 500, seed=0)
