"""The scripted policy against the scripted user: solve rates, error modes, determinism."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from taskforge.contracts import Message, Task, TerminationReason, ToolCall
from taskforge.contracts.io import load_tasks
from taskforge.domains import get_domain
from taskforge.domains.retail.facts import derive_facts
from taskforge.domains.retail.scripted_policy import (
    DEFAULT_ERROR_RATES,
    ERROR_MODES,
    ERROR_MODES_KEY,
    ScriptedPolicy,
)
from taskforge.domains.retail.scripted_user import STOP, TRANSFER, ScriptedUser
from taskforge.env.db import Database
from taskforge.env.environment import Environment
from taskforge.env.evaluator import Evaluator
from taskforge.env.metrics import pass_hat_k
from taskforge.rollout.scripted_loop import run_scripted_episode

REPO = Path(__file__).resolve().parents[3]
TAU2 = REPO.parent / "shared" / "tau2-retail"
GOLD_WRITE_ERRORS = {"64", "105"}
ZERO = dict.fromkeys(ERROR_MODES, 0.0)
DOMAIN = get_domain("retail")

needs_tau2 = pytest.mark.skipif(not (TAU2 / "tasks.json").exists(), reason="no tau2 data")


@cache
def _suite(name: str) -> tuple[Database, tuple[Task, ...]]:
    if name == "tau2":
        tasks = load_tasks(TAU2 / "tasks.json")
        db = DOMAIN.load_db(TAU2 / "db.json")
        return db, tuple(t for t in tasks if t.id not in GOLD_WRITE_ERRORS)
    db = DOMAIN.load_db(REPO / "datasets" / "retail" / "db.json")
    return db, tuple(load_tasks(REPO / "datasets" / "retail" / "seed_tasks.json"))


def _episode(
    task: Task, db: Database, rates: dict[str, float], seed: int, max_steps: int = 200
) -> tuple[list[Message], list[str], TerminationReason]:
    """The loop of the brief, written out: greeting, user, policy, tools, until a stop."""
    env = Environment(DOMAIN.toolkit_cls, db)
    user = ScriptedUser(derive_facts(task, db), seed)
    policy = ScriptedPolicy(rates, seed)
    messages = [Message(role="assistant", content="Hi! How can I help you today?")]
    view: list[dict[str, Any]] = [{"role": "assistant", "content": messages[0].content}]
    while len(messages) < max_steps:
        text = user.respond([m for m in view if m["role"] != "tool" and m.get("content")])
        messages.append(Message(role="user", content=text))
        view.append({"role": "user", "content": text})
        if STOP in text or TRANSFER in text:
            return messages, policy.fired, TerminationReason.USER_STOP
        while len(messages) < max_steps:
            reply = policy.respond(view, env.tool_schemas())
            reply.pop(ERROR_MODES_KEY, None)
            view.append(reply)
            if not reply.get("tool_calls"):
                messages.append(Message(role="assistant", content=reply["content"]))
                break
            raw = reply["tool_calls"][0]
            call = ToolCall(
                id=raw["id"],
                name=raw["function"]["name"],
                arguments=json.loads(raw["function"]["arguments"]),
            )
            messages.append(Message(role="assistant", tool_calls=[call]))
            result = env.step(call)
            messages.append(result)
            view.append({"role": "tool", "tool_call_id": call.id, "content": result.content})
    return messages, policy.fired, TerminationReason.MAX_STEPS


def _db_rewards(name: str, rates: dict[str, float], seed: int) -> dict[str, float]:
    db, tasks = _suite(name)
    evaluator = Evaluator(DOMAIN.toolkit_cls, db)
    out = {}
    for task in tasks:
        messages, _fired, end = _episode(task, db, rates, seed)
        info = evaluator.evaluate(task, messages, end)
        out[task.id] = info.db_check.db_reward if info.db_check else 0.0
    return out


@needs_tau2
def test_zero_error_solves_tau2_feasible_tasks() -> None:
    rewards = _db_rewards("tau2", ZERO, seed=0)
    solved = sum(r == 1.0 for r in rewards.values())
    assert solved / len(rewards) >= 0.9, [t for t, r in rewards.items() if r != 1.0]


def test_zero_error_solves_every_seed_task() -> None:
    rewards = _db_rewards("seed", ZERO, seed=0)
    assert all(r == 1.0 for r in rewards.values()), [t for t, r in rewards.items() if r != 1.0]


def test_loop_helper_matches_the_written_out_loop() -> None:
    db, tasks = _suite("seed")
    for task in tasks[:8]:
        ours = _episode(task, db, DEFAULT_ERROR_RATES, seed=3)
        theirs = run_scripted_episode(task, db, DOMAIN.toolkit_cls, None, seed=3)
        assert [m.content for m in ours[0]] == [m.content for m in theirs[0]]
        assert ours[1:] == theirs[1:]


@pytest.mark.parametrize("name", ["seed", pytest.param("tau2", marks=needs_tau2)])
def test_default_rates_give_a_middling_pass_rate_and_name_every_failure(name: str) -> None:
    db, tasks = _suite(name)
    evaluator = Evaluator(DOMAIN.toolkit_cls, db)
    results, unexplained = [], []
    for seed in range(4):
        for task in tasks:
            messages, fired, end = run_scripted_episode(task, db, DOMAIN.toolkit_cls, None, seed)
            reward = evaluator.evaluate(task, messages, end).reward
            results.append((task.id, reward))
            if reward != 1.0 and not fired:
                unexplained.append((task.id, seed))
    scores = pass_hat_k(results)
    assert 0.4 <= scores[1] <= 0.8, scores
    assert scores[4] < scores[1] - 0.1, scores
    assert not unexplained


def test_fired_modes_are_emitted_on_the_message_and_recorded() -> None:
    db, tasks = _suite("seed")
    rates = dict(ZERO, skip_confirmation=1.0)
    task = next(t for t in tasks if t.id == "seed_000")
    _messages, fired, _end = run_scripted_episode(task, db, DOMAIN.toolkit_cls, rates, seed=0)
    assert fired == ["skip_confirmation"]
    env = Environment(DOMAIN.toolkit_cls, db)
    policy = ScriptedPolicy(rates, seed=0)
    view: list[dict[str, Any]] = [
        {"role": "assistant", "content": "Hi! How can I help you today?"},
        {"role": "user", "content": ScriptedUser(derive_facts(task, db), 1).respond([])},
    ]
    for _ in range(20):
        reply = policy.respond(view, env.tool_schemas())
        if reply.get(ERROR_MODES_KEY):
            assert reply[ERROR_MODES_KEY] == ["skip_confirmation"]
            assert reply["tool_calls"][0]["function"]["name"] == "cancel_pending_order"
            return
        if not reply.get("tool_calls"):
            view += [
                reply,
                {"role": "user", "content": "My email is gemma.nilsson7422@example.com."},
            ]
            continue
        call = reply["tool_calls"][0]
        output, _ = env.execute(call["function"]["name"], call["function"]["arguments"])
        view += [reply, {"role": "tool", "tool_call_id": call["id"], "content": output}]
    pytest.fail("the write never came")


@pytest.mark.parametrize("mode", [m for m in ERROR_MODES if m != "skip_confirmation"])
def test_each_error_mode_breaks_some_seed_task(mode: str) -> None:
    db, tasks = _suite("seed")
    evaluator = Evaluator(DOMAIN.toolkit_cls, db)
    broken = 0
    for task in tasks:
        messages, fired, end = run_scripted_episode(
            task, db, DOMAIN.toolkit_cls, dict(ZERO, **{mode: 1.0}), seed=0
        )
        if evaluator.evaluate(task, messages, end).reward != 1.0:
            assert mode in fired
            broken += 1
    assert broken > 0


def test_same_seed_same_messages() -> None:
    db, tasks = _suite("seed")
    for task in tasks[:10]:
        first = run_scripted_episode(task, db, DOMAIN.toolkit_cls, None, seed=2)
        again = run_scripted_episode(task, db, DOMAIN.toolkit_cls, None, seed=2)
        assert [m.to_json_dict() for m in first[0]] == [m.to_json_dict() for m in again[0]]
        assert first[1:] == again[1:]


def test_facts_describe_items_by_options_not_ids() -> None:
    db, tasks = _suite("seed")
    task = next(t for t in tasks if t.id == "seed_006")
    facts = derive_facts(task, db)
    assert facts.identity is not None and facts.identity.email.endswith("@example.com")
    (request,) = facts.requests
    assert request.kind == "exchange_delivered_order_items"
    assert request.payment is not None and "credit card ending in" in request.payment.description
    assert all(i.target_options for i in request.items)
    user = ScriptedUser(facts, seed=0)
    opening = user.respond([{"role": "assistant", "content": "Hi! How can I help you today?"}])
    assert all(i.item_id not in opening for i in request.items)


def test_unknown_error_mode_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown error modes"):
        ScriptedPolicy({"hallucinate": 0.5}, seed=0)
