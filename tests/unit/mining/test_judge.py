"""Judges: the diagnostic judge on real and scripted failures; the LLM judge offline."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from taskforge.contracts import RewardInfo, Task, TerminationReason, Trajectory
from taskforge.contracts.io import load_results, load_tasks
from taskforge.domains.retail import RetailDatabase, RetailTools
from taskforge.domains.retail.scripted_policy import ERROR_MODES
from taskforge.env.evaluator import Evaluator
from taskforge.llm import LLMClient, RoleConfig, register_offline_agent
from taskforge.llm.offline import unregister_offline_agent
from taskforge.mining.judge import (
    LLM_VERSION,
    DiagnosticJudge,
    LLMJudge,
    judgment_key,
    judgment_text,
    parse_verdict,
    render_prompt,
)
from taskforge.rollout.scripted_loop import run_scripted_episode

REPO = Path(__file__).resolve().parents[3]
SHARED_TAU2 = REPO.parent / "shared" / "tau2-retail"
RESULTS = SHARED_TAU2 / "results" / "gpt-4.1_retail_test_1trial.json"

# Checked by hand against the dialogues (task id -> mechanism, tool of the decisive write):
REAL_FAILURES = {
    # returns 2 of the 4 items of #W4597054 (item_ids too short)
    "55": ("wrong_item", "return_delivered_order_items", 20),
    # cancels #W9348897 where its items were to be modified
    "36": ("wrong_tool", "cancel_pending_order", 30),
    # the task wants no write; the agent swaps the speaker (after two failed attempts)
    "62": ("extra_write", "modify_pending_order_items", 40),
    # says the pending order cannot be changed; the jacket swap never happens
    "86": ("missing_write", "modify_pending_order_items", None),
    # 1000ml bottle: new_item_ids 7661609223 instead of 2439754078
    "79": ("wrong_variant", "modify_pending_order_items", 18),
    # never finds the New York address; the order address is never changed
    "101": ("missing_write", "modify_pending_order_address", None),
}
MODE_CATEGORY = {
    "wrong_variant": "wrong_argument",
    "wrong_item": "wrong_record",
    "wrong_order": "wrong_record",
    "skip_confirmation": "no_confirmation",
    "early_stop": "early_stop",
    "repeat_call": "repeated_calls",
}


def _traj(task: Task, messages: Any, termination: TerminationReason, uid: str) -> Trajectory:
    return Trajectory(id=uid, task_id=task.id, messages=messages, termination_reason=termination)


# -- (a) the 6 real failures ---------------------------------------------------------------------


def test_real_failures_name_the_first_divergent_write(
    tau2_dir: Path, tau2_db: RetailDatabase
) -> None:
    if not RESULTS.exists():
        pytest.skip(f"tau2 results not found at {RESULTS}")
    results = load_results(RESULTS)
    tasks = {t.id: t for t in results.tasks}
    evaluator, judge = Evaluator(RetailTools, tau2_db), DiagnosticJudge(RetailTools)
    found = {}
    for sim in results.simulations:
        reward = evaluator.evaluate_trajectory(tasks[sim.task_id], sim)
        if reward.reward >= 1.0:
            continue
        j = judge.judge(tasks[sim.task_id], sim, reward, sim.id)
        s = j.structured
        tool = s["actual_call"]["name"] if s.get("actual_call") else s["tool"]
        found[sim.task_id] = (s["mechanism"], tool, s.get("write_step"))
        assert j.blame == "agent" and j.explanation and j.evidence
        if s.get("write_step") is not None:
            assert j.decisive_step == s["write_step"] and s["confirmed"] is True
    assert found == REAL_FAILURES


# -- (b) scripted failures, one error mode at a time ---------------------------------------------


@pytest.fixture(scope="module")
def scripted_judgments(shipped_db: RetailDatabase) -> dict[str, list[Any]]:
    """Judgments of the failures of each error mode fired alone at rate 1.0."""
    tasks = load_tasks(REPO / "datasets" / "retail" / "seed_tasks.json")
    evaluator, judge = Evaluator(RetailTools, shipped_db), DiagnosticJudge(RetailTools)
    out: dict[str, list[Any]] = {}
    for mode in ERROR_MODES:
        seeds = range(6) if mode == "skip_confirmation" else range(2)
        out[mode] = []
        for seed in seeds:
            for task in tasks:
                messages, _fired, end = run_scripted_episode(
                    task, shipped_db, RetailTools, {mode: 1.0}, seed
                )
                reward = evaluator.evaluate(task, messages, end)
                if reward.reward < 1.0:
                    traj = _traj(task, messages, end, f"{mode}-{seed}-{task.id}")
                    out[mode].append(judge.judge(task, traj, reward, traj.id))
    return out


def test_scripted_modes_get_their_mechanism(scripted_judgments: dict[str, list[Any]]) -> None:
    confusion = {
        m: Counter(j.structured["mechanism"] for j in js) for m, js in scripted_judgments.items()
    }
    print("\nmode -> judged mechanism")
    for mode, counts in confusion.items():
        print(f"  {mode:18s} n={sum(counts.values()):3d} {dict(counts)}")
    for mode, judgments in scripted_judgments.items():
        assert len(judgments) >= 10, mode
        hits = sum(
            j.structured["mechanism"] == mode and j.category == MODE_CATEGORY[mode]
            for j in judgments
        )
        assert hits >= 0.8 * len(judgments), (mode, confusion[mode])


def test_scripted_features_discriminate(scripted_judgments: dict[str, list[Any]]) -> None:
    def pick(mode: str) -> Any:
        return next(j for j in scripted_judgments[mode] if j.structured["mechanism"] == mode)

    assert pick("wrong_variant").structured["argument"] == "new_item_ids"
    assert pick("wrong_item").structured["argument"] == "item_ids"
    assert pick("wrong_order").structured["argument"] == "order_id"
    assert pick("skip_confirmation").structured["confirmed"] is False
    assert pick("early_stop").structured["claimed_done"] is True
    repeat = pick("repeat_call").structured
    assert repeat["repeat_count"] >= 3 and repeat["transferred"] is True
    texts = {mode: judgment_text(pick(mode)) for mode in ERROR_MODES}
    assert len({t.split(":")[0] for t in texts.values()}) == len(ERROR_MODES)
    assert all(j.blame == "agent" for js in scripted_judgments.values() for j in js)


def test_blame_rules(shipped_db: RetailDatabase) -> None:
    task = load_tasks(REPO / "datasets" / "retail" / "seed_tasks.json")[0]
    messages, _, _ = run_scripted_episode(task, shipped_db, RetailTools, {"early_stop": 1.0}, 0)
    judge = DiagnosticJudge(RetailTools)
    cut = _traj(task, messages, TerminationReason.INFRASTRUCTURE_ERROR, "t1")
    j = judge.judge(task, cut, RewardInfo(reward=0.0), "t1")
    assert (j.category, j.blame) == ("premature_termination", "environment")
    cut = _traj(task, messages, TerminationReason.MAX_STEPS, "t2")
    assert judge.judge(task, cut, RewardInfo(reward=0.0), "t2").blame == "agent"
    reward = Evaluator(RetailTools, shipped_db).evaluate(
        task, messages, TerminationReason.USER_STOP
    )
    last = messages[-1].model_copy(update={"content": "Bye ###OUT-OF-SCOPE###"})
    oos = _traj(task, [*messages[:-1], last], TerminationReason.USER_STOP, "t3")
    assert judge.judge(task, oos, reward, "t3").blame == "user_simulator"


# -- (c) the LLM judge through LiteLLM, offline ------------------------------------------------


class _Answers:
    """An offline judge answering from a list (the last answer repeats); counts its calls."""

    def __init__(self, answers: list[str]) -> None:
        self.answers = answers
        self.calls: list[list[dict[str, Any]]] = []

    def respond(
        self, messages: list[dict[str, Any]], tools: list[dict[str, Any]]
    ) -> dict[str, Any]:
        self.calls.append(messages)
        return {
            "role": "assistant",
            "content": self.answers[min(len(self.calls), len(self.answers)) - 1],
        }


@pytest.fixture
def one_failure(shipped_db: RetailDatabase) -> tuple[Task, Trajectory, RewardInfo]:
    """A wrong-variant failure of the shipped seed tasks."""
    evaluator = Evaluator(RetailTools, shipped_db)
    for task in load_tasks(REPO / "datasets" / "retail" / "seed_tasks.json"):
        messages, _, end = run_scripted_episode(
            task, shipped_db, RetailTools, {"wrong_variant": 1.0}, 0
        )
        reward = evaluator.evaluate(task, messages, end)
        if reward.reward < 1.0:
            return task, _traj(task, messages, end, "wv"), reward
    raise AssertionError("no wrong-variant failure in the seed tasks")


def _llm_judge(name: str, answers: list[str]) -> tuple[LLMJudge, _Answers]:
    responder = _Answers(answers)
    register_offline_agent(name, lambda context, params: responder)
    client = LLMClient(RoleConfig(model=f"taskforge/{name}", max_retries=0))
    return LLMJudge(client, toolkit_cls=RetailTools), responder


GOOD = json.dumps(
    {
        "category": "wrong_argument",
        "blame": "agent",
        "decisive_step": 3,
        "explanation": "The agent swapped in the wrong variant.",
        "evidence": ["new_item_ids"],
    }
)


def test_llm_judge_through_litellm(one_failure: tuple[Task, Trajectory, RewardInfo]) -> None:
    task, traj, reward = one_failure
    judge, responder = _llm_judge("echo-judge", [f"Here you go:\n```json\n{GOOD}\n```"])
    try:
        j = judge.judge(task, traj, reward, "wv")
    finally:
        unregister_offline_agent("echo-judge")
    assert (j.judge, j.model, j.prompt_version) == ("llm", "taskforge/echo-judge", LLM_VERSION)
    assert (j.category, j.blame, j.decisive_step) == ("wrong_argument", "agent", 3)
    assert j.explanation == "The agent swapped in the wrong variant."
    assert j.structured["diagnostic_mechanism"] == "wrong_variant"
    assert len(responder.calls) == 1
    prompt = responder.calls[0][0]["content"]
    assert prompt == render_prompt(task, traj, reward)
    for needle in (
        "Reason for contacting support",
        "assistant calls",
        "tool output",
        "new_item_ids",
    ):
        assert needle in prompt
    assert "${" not in prompt


def test_llm_judge_retries_then_falls_back(
    one_failure: tuple[Task, Trajectory, RewardInfo],
) -> None:
    task, traj, reward = one_failure
    judge, responder = _llm_judge("bad-judge", ["not json at all", '{"category": "nonsense"}'])
    try:
        j = judge.judge(task, traj, reward, "wv")
    finally:
        unregister_offline_agent("bad-judge")
    assert len(responder.calls) == 2  # one retry, told what was wrong
    assert "could not be used" in responder.calls[1][-1]["content"]
    assert j.judge == "diagnostic" and j.structured["mechanism"] == "wrong_variant"
    assert "category" in j.structured["llm_error"]
    assert j.structured["llm_model"] == "taskforge/bad-judge"

    judge, responder = _llm_judge("fixed-judge", ["oops", GOOD])
    try:
        j = judge.judge(task, traj, reward, "wv")
    finally:
        unregister_offline_agent("fixed-judge")
    assert len(responder.calls) == 2 and j.judge == "llm" and "llm_error" not in j.structured


def test_parse_verdict_validates() -> None:
    assert parse_verdict(GOOD, 10).decisive_step == 3
    for bad in ("[]", GOOD.replace('"agent"', '"nobody"'), GOOD.replace(": 3", ": 99")):
        with pytest.raises(ValueError):
            parse_verdict(bad, 10)


# -- (d) determinism ---------------------------------------------------------------------------


def test_judgments_are_deterministic(one_failure: tuple[Task, Trajectory, RewardInfo]) -> None:
    task, traj, reward = one_failure
    a = DiagnosticJudge(RetailTools).judge(task, traj, reward, "uid-1")
    b = DiagnosticJudge(RetailTools).judge(task, traj.model_copy(deep=True), reward, "uid-1")
    assert a == b
    assert a.judgment_id == judgment_key("diagnostic", None, "diagnostic-v1", "uid-1")
    assert a.judgment_id.startswith("jdg-") and a.judgment_id != judgment_key(
        "diagnostic", None, "diagnostic-v1", "uid-2"
    )
    assert judgment_text(a) == judgment_text(b)
    assert "mechanism wrong_variant" in judgment_text(a)


def test_json_roles_send_their_schema_only_to_servers_that_enforce_one() -> None:
    from taskforge.llm import LLMClient, RoleConfig
    from taskforge.mining.judge import json_client, verdict_schema
    from taskforge.synthesis.llm_writer import SCENARIO_SCHEMA, LLMWriter

    plain = RoleConfig(model="hosted_vllm/m", api_base="http://127.0.0.1:1/v1")
    strict = plain.model_copy(update={"json_schema": True})
    schema = verdict_schema(6)
    assert json_client(LLMClient(plain, None, 1), schema).role.extra == {
        "response_format": {"type": "json_object"}
    }
    sent = json_client(LLMClient(strict, None, 1), schema).role.extra["response_format"]
    assert sent == {
        "type": "json_schema",
        "json_schema": {"name": "answer", "schema": schema},
    }
    writer = LLMWriter(LLMClient(strict, None, 1))
    assert writer.client.role.extra["response_format"]["json_schema"]["schema"] is SCENARIO_SCHEMA


def test_a_verdict_under_the_enforced_schema_parses() -> None:
    """The schema's key order (explanation first), a bounded step and no evidence."""
    from taskforge.mining.judge import verdict_schema

    schema = verdict_schema(8)
    props = schema["properties"]
    assert next(iter(props)) == "explanation" and "evidence" not in props
    assert props["decisive_step"]["enum"] == list(range(8))
    answer = {
        "explanation": "The agent cancelled the wrong order of the two pending ones.",
        "category": "wrong_record",
        "blame": "agent",
        "decisive_step": 3,
    }
    assert set(answer) == set(schema["required"])
    verdict = parse_verdict(json.dumps(answer), n_messages=8)
    assert (verdict.category, verdict.decisive_step, verdict.evidence) == ("wrong_record", 3, [])
    with pytest.raises(ValueError, match="decisive_step 9"):
        parse_verdict(json.dumps({**answer, "decisive_step": 9}), n_messages=8)
