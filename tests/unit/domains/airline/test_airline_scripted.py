"""Airline's scripted agents: error-free they solve every seed task; each error mode fails."""

from __future__ import annotations

import pytest

from taskforge.contracts import Task
from taskforge.contracts.io import load_tasks
from taskforge.domains import Domain
from taskforge.domains.airline.facts import derive_facts, parse_request, request_text
from taskforge.domains.airline.seed import SEED_FILE
from taskforge.env.db import Database
from taskforge.env.evaluator import Evaluator
from taskforge.rollout.scripted_loop import scripted_trajectory


@pytest.fixture(scope="module")
def seed_tasks() -> list[Task]:
    return load_tasks(SEED_FILE)


@pytest.fixture(scope="module")
def seed_db(airline: Domain) -> Database:
    return airline.load_db()


def _rewards(
    airline: Domain, db: Database, tasks: list[Task], rates: dict[str, float] | None, seed: int = 0
) -> list[tuple[float, list[str]]]:
    evaluator = Evaluator(airline.toolkit_cls, db)
    out = []
    for task in tasks:
        trajectory = scripted_trajectory(task, db, evaluator, rates, seed, f"t_{task.id}", 0)
        assert trajectory.reward_info is not None
        out.append((trajectory.reward_info.reward, trajectory.error_modes))
    return out


def test_requests_round_trip_through_the_users_words(
    seed_tasks: list[Task], seed_db: Database
) -> None:
    for task in seed_tasks:
        request = derive_facts(task, seed_db).request
        parsed = parse_request(request_text(request))
        assert parsed is not None and parsed.kind == request.kind, task.id
        assert (parsed.reservation_id, parsed.payment_id) == (
            request.reservation_id,
            request.payment_id,
        )


def test_error_free_policy_solves_every_seed_task(
    airline: Domain, seed_tasks: list[Task], seed_db: Database
) -> None:
    results = _rewards(airline, seed_db, seed_tasks, {})
    assert [r for r, _ in results] == [1.0] * len(seed_tasks)
    assert all(not fired for _, fired in results)


@pytest.mark.parametrize(
    "mode",
    [
        "wrong_flight",
        "wrong_cabin",
        "wrong_baggage",
        "wrong_payment",
        "wrong_passenger",
        "skip_confirmation",
        "early_stop",
        "repeat_call",
    ],
)
def test_each_error_mode_fails_the_episodes_it_fires_in(
    airline: Domain, seed_tasks: list[Task], seed_db: Database, mode: str
) -> None:
    results = _rewards(airline, seed_db, seed_tasks, {mode: 1.0})
    fired = [r for r, modes in results if mode in modes]
    assert fired, f"{mode} never had an opportunity"
    assert all(r == 0.0 for r in fired)
    assert all(r == 1.0 for r, modes in results if not modes)


def test_default_rates_fail_some_and_pass_most(
    airline: Domain, seed_tasks: list[Task], seed_db: Database
) -> None:
    from taskforge.domains.airline.scripted import ERROR_MODES

    results = _rewards(airline, seed_db, seed_tasks, None)
    passed = sum(r == 1.0 for r, _ in results) / len(results)
    assert 0.3 < passed < 0.9
    assert {m for _, modes in results for m in modes} <= set(ERROR_MODES)
