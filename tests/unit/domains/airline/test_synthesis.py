"""Airline synthesis: grounded blueprints per error mode, certified tasks, targeting, exports."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from typer.testing import CliRunner

from taskforge.cli.app import app
from taskforge.contracts import Message, Task, TerminationReason
from taskforge.contracts.io import load_tasks
from taskforge.domains import get_domain
from taskforge.env.bench import gold_messages
from taskforge.env.db import Database
from taskforge.env.evaluator import Evaluator
from taskforge.env.replay import Environment
from taskforge.rollout.prompts import GREETING
from taskforge.synthesis.blueprints import Blueprint, gold_feasible, sample_blueprints
from taskforge.synthesis.targeting import targeting_check
from taskforge.synthesis.verify import verify_task
from taskforge.synthesis.writer import TemplateWriter

DOM = get_domain("airline")
KIT = DOM.synthesis_kit()
N = 6
WRITES = frozenset(n for n, s in DOM.toolkit_cls.specs.items() if s.mutates)
MODES = DOM.scripted_agents().ERROR_MODES


@pytest.fixture(scope="module")
def db() -> Database:
    return DOM.load_db()


def _tasks(db: Database, family: str, seed: int = 0) -> tuple[list[Blueprint], list[Task]]:
    bps = sample_blueprints(db, family, N, seed)
    writer = TemplateWriter(seed)
    return bps, [writer.write(bp, f"{family}_{seed}_{i:03d}") for i, bp in enumerate(bps)]


def _write(bp: Blueprint) -> tuple[str, dict]:
    writes = [(name, args) for name, args in bp.actions if name in WRITES]
    assert len(writes) == 1, bp.actions
    return writes[0]


def test_the_families_target_the_scripted_error_modes() -> None:
    assert set(KIT.SAMPLERS) == set(KIT.FAMILY_PATTERNS)
    assert set(KIT.FAMILY_PATTERNS.values()) <= set(MODES)
    assert len(set(KIT.FAMILY_PATTERNS.values())) == len(KIT.FAMILY_PATTERNS) == 7
    assert DOM.has("synthesis") and set(KIT.EXPLORER_GOALS) == set(KIT.SAMPLERS)


@pytest.mark.parametrize("family", sorted(KIT.SAMPLERS))
def test_each_sampler_grounds_a_write_that_replays_and_changes_the_db(
    db: Database, family: str
) -> None:
    bps = sample_blueprints(db, family, N, 0)
    assert len(bps) == N
    reservations = db.tables["reservations"]
    assert len({bp.targets for bp in bps}) == N
    for bp in bps:
        assert bp.pattern == KIT.FAMILY_PATTERNS[family] and bp.domain == "airline"
        assert gold_feasible(db, bp)
        name, args = _write(bp)
        before = reservations[args["reservation_id"]]
        assert before["user_id"] == bp.user_id and before["status"] is None
        env = Environment(DOM.toolkit_cls, db)
        for call, call_args in bp.actions:
            assert not env.execute(call, dict(call_args))[1]
        after = env.state.get("reservations", args["reservation_id"])
        assert after != before
        _check_shape(family, name, args, before, db)


def _check_shape(family: str, name: str, args: dict, before: dict, db: Database) -> None:
    """The write has the family's difficulty (the situation that invites its error mode)."""
    original = before["payment_history"][0]["payment_id"]
    methods = db.tables["users"][before["user_id"]]["payment_methods"]
    if "payment_id" in args:
        assert args["payment_id"] != original
        assert methods[args["payment_id"]]["source"] != "certificate"
    if family == "flight_change":
        assert name == "update_reservation_flights" and args["cabin"] == before["cabin"]
        assert args["flights"] != [
            {"flight_number": f["flight_number"], "date": f["date"]} for f in before["flights"]
        ]
    elif family == "cabin_change":
        assert name == "update_reservation_flights" and args["cabin"] != before["cabin"]
    elif family == "baggage_update":
        assert name == "update_reservation_baggages"
        assert args["nonfree_baggages"] > before["nonfree_baggages"]
    elif family == "payment_choice":
        assert any(m["source"] == "certificate" for m in methods.values())
    elif family == "passenger_update":
        assert name == "update_reservation_passengers" and len(before["passengers"]) >= 2
    elif family == "unconfirmed_change":
        assert original in methods and methods[original]["source"] != "certificate"
    else:
        assert name == "cancel_reservation"


@pytest.mark.parametrize("family", sorted(KIT.SAMPLERS))
def test_templated_tasks_are_certified_and_doing_nothing_scores_zero(
    db: Database, family: str
) -> None:
    _, tasks = _tasks(db, family)
    evaluator = Evaluator(DOM.toolkit_cls, db)
    nothing = [Message(role="assistant", content=GREETING)]
    for task in tasks:
        verdict = verify_task(task, DOM.toolkit_cls, db)
        assert verdict.accepted, verdict.reasons
        cert = verdict.certificate
        assert cert is not None and cert.gold_replay_ok and cert.state_changed
        assert cert.noop_reward == 0.0 and cert.targets_identified
        assert cert.checks["gold_reward"] == 1.0
        stop = TerminationReason.USER_STOP
        assert evaluator.evaluate(task, nothing, stop).reward == 0.0
        assert task.origin == "targeted" and task.pattern == KIT.FAMILY_PATTERNS[family]


def _edited(task: Task, **changes: object) -> Task:
    """``task`` with its gold write's arguments changed."""
    data = task.model_dump(mode="json")
    for action in data["evaluation_criteria"]["actions"]:
        if action["name"] in WRITES:
            action["arguments"].update(changes)
    return Task.model_validate(data)


def test_the_verifier_rejects_a_gold_the_scenario_does_not_say(db: Database) -> None:
    _, bags = _tasks(db, "baggage_update")
    args = next(a.arguments for a in bags[0].gold_actions() if a.name in WRITES)
    more = _edited(bags[0], total_baggages=args["total_baggages"] + 1)
    verdict = verify_task(more, DOM.toolkit_cls, db)
    assert not verdict.accepted
    assert any("total_baggages" in r for r in verdict.reasons), verdict.reasons
    _, flights = _tasks(db, "flight_change")
    write = next(a.arguments for a in flights[0].gold_actions() if a.name in WRITES)
    user = db.tables["users"][db.tables["reservations"][write["reservation_id"]]["user_id"]]
    other = next(p for p in sorted(user["payment_methods"]) if p != write["payment_id"])
    verdict = verify_task(_edited(flights[0], payment_id=other), DOM.toolkit_cls, db)
    assert not verdict.accepted
    assert any(f"payment method {other}" in r for r in verdict.reasons), verdict.reasons


def test_the_verifier_needs_the_user_id_in_the_scenario(db: Database) -> None:
    _, tasks = _tasks(db, "cancellation")
    task = tasks[0]
    data = task.model_dump(mode="json")
    data["user_scenario"]["instructions"]["known_info"] = "You are a customer."
    verdict = verify_task(Task.model_validate(data), DOM.toolkit_cls, db)
    assert not verdict.accepted
    assert any("identity of" in r for r in verdict.reasons), verdict.reasons


def test_sampling_and_wording_are_deterministic(db: Database) -> None:
    _, first = _tasks(db, "flight_change", seed=3)
    _, again = _tasks(db, "flight_change", seed=3)
    _, other = _tasks(db, "flight_change", seed=4)
    assert [t.model_dump() for t in first] == [t.model_dump() for t in again]
    assert [t.model_dump() for t in first] != [t.model_dump() for t in other]


@pytest.mark.parametrize("family", sorted(KIT.SAMPLERS))
def test_each_family_provokes_its_error_mode_and_an_error_free_policy_solves_it(
    db: Database, family: str
) -> None:
    """With its error mode always firing, the scripted policy fails every task of the family
    and the judge names that mode; with no errors it solves them all."""
    _, tasks = _tasks(db, family)
    pattern = KIT.FAMILY_PATTERNS[family]
    naive = load_tasks(DOM.default_db_path.parent / "seed_tasks.json")[:6]  # type: ignore[union-attr]
    firing = targeting_check(tasks, naive, db, DOM.toolkit_cls, 1, 0, {pattern: 1.0})
    row = firing["patterns"][pattern]
    assert row["failure_rate_targeted"] == 1.0
    assert row["pattern_rate_targeted"] == 1.0, row["mechanisms"]
    clean = targeting_check(tasks, naive, db, DOM.toolkit_cls, 1, 0, {})
    assert clean["patterns"][pattern]["failure_rate_targeted"] == 0.0
    assert clean["failure_rate_naive"] == 0.0


def test_an_explored_write_becomes_a_blueprint_of_its_family(db: Database) -> None:
    rng = random.Random(0)
    users = db.tables["users"]
    for family in KIT.SAMPLERS:
        for bp in sample_blueprints(db, family, 2, 1):
            found = KIT.blueprint_from_writes(db, family, users[bp.user_id], [_write(bp)], rng)
            assert found is not None and found.family == family
            assert found.knobs["source"] == "llm-explorer-v1"
            assert gold_feasible(db, found)
    cancel = sample_blueprints(db, "cancellation", 1, 0)[0]
    user = users[cancel.user_id]
    assert KIT.blueprint_from_writes(db, "flight_change", user, [_write(cancel)], rng) is None


def test_unguided_candidates_are_words_without_grounding(db: Database) -> None:
    rng = random.Random(0)
    found = [bp for bp in (KIT.unguided_blueprint(db, rng) for _ in range(60)) if bp]
    assert len(found) >= 20
    assert {bp.family for bp in found} == {"unguided"}
    assert not all(gold_feasible(db, bp) for bp in found)


def test_synthesize_cli_certifies_checks_targeting_and_exports(tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "targeted.json"
    args = ["synthesize", "--domain", "airline", "--n", "4", "--embedder", "hashing"]
    result = runner.invoke(app, [*args, "--check-targeting", "--out", str(out), "--json"])
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert set(summary["families"]) == set(KIT.SAMPLERS)
    tasks = load_tasks(out)
    assert len(tasks) == summary["n_accepted"] >= 20
    assert all(t.certificate is not None and t.certificate.noop_reward == 0.0 for t in tasks)
    assert set(summary["targeting"]["patterns"]) == {t.pattern for t in tasks}
    for kind in ("hf", "tau2", "verl"):
        where = tmp_path / kind
        argv = ["export", kind, "--tasks", str(out), "--domain", "airline", "--out", str(where)]
        done = runner.invoke(app, [*argv, "--json"])
        assert done.exit_code == 0, (kind, done.stderr)
        assert json.loads(done.stdout)["n_tasks"] == len(tasks)
    tau2 = tmp_path / "tau2" / "tau2" / "domains" / "airline"
    exported = load_tasks(tau2 / "tasks.json")
    assert sorted(t.id for t in exported) == sorted(t.id for t in tasks)
    tau2_db = DOM.load_db(tau2 / "db.json")
    evaluator = Evaluator(DOM.toolkit_cls, tau2_db)
    for task in exported:
        gold = gold_messages(DOM.toolkit_cls, tau2_db, task)
        assert evaluator.evaluate(task, gold, TerminationReason.USER_STOP).reward == 1.0, task.id
