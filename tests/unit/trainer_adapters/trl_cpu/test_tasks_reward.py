"""The trl-cpu trainer's pure parts on the bundled DB: easy tasks, prompts, the reward.

No torch here: what the GRPO trainer is fed (which tasks, which prompt) and how a completion
is scored (parsed, executed, judged by the RewardSpec) decide what training can learn.
"""

from __future__ import annotations

import json

import pytest

from taskforge.contracts import Task
from taskforge.domains import get_domain
from taskforge.env.db import Database
from trainer_adapters.trl_cpu.prompts import PromptBuilder, call_json, render, write_actions
from trainer_adapters.trl_cpu.reward import TaskReward, parse_call
from trainer_adapters.trl_cpu.tasks import easy_task_sets, easy_tasks, select_easy, stated

SPECS = get_domain("retail").toolkit_cls.specs


@pytest.fixture(scope="module")
def easy(db: Database) -> list[Task]:
    """Eight easy generated tasks on the bundled DB."""
    return easy_tasks(db, "retail", n=8, seed=0)


@pytest.fixture(scope="module")
def reward(db: Database, easy: list[Task]) -> TaskReward:
    builder = PromptBuilder(db, "retail", easy)
    openings = {t.id: builder.opening(t) for t in easy}
    return TaskReward({t.id: t for t in easy}, openings, db, "retail", "raft")


def test_easy_tasks_have_one_write_stated_in_the_opening(db: Database, easy: list[Task]) -> None:
    assert len(easy) == 8
    builder = PromptBuilder(db, "retail", easy)
    for task in easy:
        writes = write_actions(task, SPECS)
        assert len(writes) == 1 and SPECS[writes[0].name].mutates
        assert stated(writes[0].arguments, builder.opening(task))


def test_select_easy_drops_tasks_with_no_write(db: Database, easy: list[Task]) -> None:
    reads = [a for a in easy[0].gold_actions() if not SPECS[a.name].mutates]
    criteria = easy[0].evaluation_criteria
    assert criteria is not None
    no_write = easy[0].model_copy(
        update={
            "id": "no-write",
            "evaluation_criteria": criteria.model_copy(update={"actions": reads}),
        }
    )
    assert [t.id for t in select_easy([no_write, easy[1]], db, "retail")] == [easy[1].id]


def test_stated_reads_substrings_and_words() -> None:
    message = "Please cancel order #W123, I ordered it by mistake."
    assert stated({"order_id": "#W123", "reason": "ordered by mistake"}, message)
    assert not stated({"order_id": "#W999", "reason": "ordered by mistake"}, message)
    assert stated({"ids": ["#w123"], "n": None}, message)


def test_train_and_eval_sets_share_no_gold_write(db: Database) -> None:
    train, evals = easy_task_sets(db, "retail", 4, 4, seed=0)
    assert len(train) == 4 and len(evals) == 4
    keys = [{call_json(write_actions(t, SPECS)[0]) for t in side} for side in (train, evals)]
    assert not keys[0] & keys[1]
    short, _ = easy_task_sets(db, "retail", 4, 4, seed=0, fits=lambda t: False)
    assert short == []


def test_prompt_ends_with_the_opening_and_offers_the_gold_tool(
    db: Database, easy: list[Task]
) -> None:
    builder = PromptBuilder(db, "retail", easy, n_examples=2)
    prompt = builder.build(easy[0])
    assert prompt.messages[-1] == {"role": "user", "content": prompt.opening}
    assert write_actions(easy[0], SPECS)[0].name in prompt.tools
    assert easy[0].id not in prompt.example_ids and len(prompt.example_ids) == 2
    calls = [m["tool_calls"][0]["function"] for m in prompt.messages if m["role"] == "assistant"]
    assert len(calls) == 2 and all(json.loads(c["arguments"]) for c in calls)


def test_prompt_is_rendered_as_the_served_policy_sees_it(db: Database, easy: list[Task]) -> None:
    """The local server's renderer: its tool lines and call format, ChatML, assistant opened."""
    from taskforge.llm.local_chat import IM_START, tool_line

    prompt = PromptBuilder(db, "retail", easy, n_examples=2).build(easy[0])
    text = render(prompt)
    assert text.endswith(f"{IM_START}assistant\n")
    assert all(tool_line(SPECS[name].schema) in text for name in prompt.tools)
    for message in prompt.messages:
        if message["role"] == "assistant":
            function = message["tool_calls"][0]["function"]
            reply = {"name": function["name"], "arguments": json.loads(function["arguments"])}
            assert f"{IM_START}assistant\n{json.dumps(reply)}" in text
            assert parse_call(json.dumps(reply))[0] is not None


def test_parse_call_reads_fenced_json_and_string_arguments() -> None:
    call, rest = parse_call('Sure.\n```json\n{"name": "f", "arguments": "{\\"a\\": 1}"}\n```')
    assert call is not None and call.name == "f" and call.arguments == {"a": 1}
    assert rest == "Sure."
    broken, _ = parse_call('{"name": "f", "arguments": "{oops"}')
    assert broken is not None and broken.raw_arguments == "{oops"
    assert parse_call("no call here {") == (None, "no call here {")


def test_gold_reply_succeeds_and_others_do_not(reward: TaskReward, easy: list[Task]) -> None:
    task = easy[0]
    gold = reward.score(task.id, call_json(write_actions(task, SPECS)[0]))
    assert gold.success and gold.score > 0
    text = reward.score(task.id, "I can help with that.")
    unknown = reward.score(task.id, json.dumps({"name": "no_such_tool", "arguments": {}}))
    truncated = reward.score(task.id, call_json(write_actions(task, SPECS)[0])[:-5])
    for scored in (text, unknown, truncated):
        assert not scored.success and scored.score < gold.score
    assert unknown.messages[-1].role == "tool" and unknown.messages[-1].error


def test_reward_function_records_each_completion_with_the_step(
    reward: TaskReward, easy: list[Task]
) -> None:
    class State:
        global_step = 3

    reward.records.clear()
    gold = call_json(write_actions(easy[1], SPECS)[0])
    scores = reward(
        prompts=["p", "p"], completions=[gold, [{"content": "no"}]],
        task_id=[easy[1].id, easy[1].id], trainer_state=State(),
    )  # fmt: skip
    assert scores[0] > scores[1]
    assert [(step, s.success) for step, s in reward.records] == [(3, True), (3, False)]
