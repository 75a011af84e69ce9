"""tau2-semantics evaluation, the structured diff, and agreement with tau2's recorded verdicts."""

from __future__ import annotations

from pathlib import Path

import pytest

from taskforge.contracts import Message, RewardType, Task, TerminationReason, ToolCall
from taskforge.contracts.io import load_results
from taskforge.domains.retail import RetailDatabase, RetailTools
from taskforge.env.bench import gold_messages
from taskforge.env.evaluator import Evaluator

STOP = TerminationReason.USER_STOP


def test_recomputed_db_rewards_agree_with_tau2(tau2_dir: Path, tau2_db: RetailDatabase) -> None:
    results = load_results(tau2_dir / "results" / "gpt-4.1_retail_test_1trial.json")
    tasks = {t.id: t for t in results.tasks}
    evaluator = Evaluator(RetailTools, tau2_db)
    verdicts = []
    for sim in results.simulations:
        ours = evaluator.evaluate_trajectory(tasks[sim.task_id], sim)
        assert sim.reward_info is not None and sim.reward_info.db_check is not None
        assert ours.db_check is not None
        verdicts.append(ours.db_check.db_reward)
        assert ours.db_check.db_reward == sim.reward_info.db_check.db_reward, sim.task_id
        assert ours.reward == sim.reward_info.reward, sim.task_id
    assert len(verdicts) == 40 and 0 < sum(verdicts) < 40


def _task(tau2_tasks: list[Task], task_id: str) -> Task:
    return next(t for t in tau2_tasks if t.id == task_id)


def test_gold_trajectory_scores_one_and_nothing_scores_zero(
    tau2_tasks: list[Task], tau2_db: RetailDatabase
) -> None:
    evaluator = Evaluator(RetailTools, tau2_db)
    task = _task(tau2_tasks, "0")
    gold = evaluator.evaluate(task, gold_messages(RetailTools, tau2_db, task), STOP)
    assert gold.db_check and gold.db_check.db_match
    assert gold.reward_breakdown == {RewardType.DB: 1.0, RewardType.NL_ASSERTION: 1.0}
    assert gold.skipped is None, "no assertions to judge: tau2 scores NL as 1"
    nothing = evaluator.evaluate(task, [Message(role="assistant", content="Hi")], STOP)
    assert nothing.reward == 0.0 and nothing.diff is not None
    divergent = nothing.diff.first_divergent_write
    assert divergent is not None and divergent.index == 0 and divergent.actual is None
    assert divergent.expected and divergent.expected["name"] == "exchange_delivered_order_items"
    assert {(d.table, d.key, d.field) for d in nothing.diff.fields} >= {
        ("orders", "#W2378156", "status")
    }


def test_premature_termination_scores_zero(tau2_tasks: list[Task], tau2_db: RetailDatabase) -> None:
    task = _task(tau2_tasks, "0")
    messages = gold_messages(RetailTools, tau2_db, task)
    for reason in TerminationReason:
        info = Evaluator(RetailTools, tau2_db).evaluate(task, messages, reason)
        assert (info.reward == 0.0) == (not reason.is_normal), reason


def test_wrong_argument_is_located_in_diff(tau2_tasks: list[Task], tau2_db: RetailDatabase) -> None:
    task = _task(tau2_tasks, "0")
    write = task.gold_actions()[-1]
    wrong = dict(write.arguments, payment_method_id="credit_card_0000000")
    call = ToolCall(id="x", name=write.name, arguments=wrong)
    messages = [
        Message(role="assistant", tool_calls=[call]),
        Message(role="tool", id="x", content=""),
    ]
    info = Evaluator(RetailTools, tau2_db).evaluate(task, messages, STOP)
    assert info.reward == 0.0 and info.diff is not None
    divergent = info.diff.first_divergent_write
    assert divergent is not None and divergent.actual_error == "Error: Payment method not found"
    args = write.arguments
    other = dict(args, item_ids=args["item_ids"][:1], new_item_ids=args["new_item_ids"][:1])
    call = ToolCall(id="y", name=write.name, arguments=other)
    messages = [Message(role="assistant", tool_calls=[call])]
    info = Evaluator(RetailTools, tau2_db).evaluate(task, messages, STOP)
    assert info.diff is not None and info.diff.fields
    assert info.diff.first_divergent_write is not None
    assert info.diff.first_divergent_write.actual_error is None


def test_communicate_and_action_checks(tau2_dir: Path, tau2_db: RetailDatabase) -> None:
    results = load_results(tau2_dir / "results" / "gpt-4.1_retail_test_1trial.json")
    task = next(
        t for t in results.tasks if t.evaluation_criteria and t.evaluation_criteria.communicate_info
    )
    info_str = task.evaluation_criteria.communicate_info[0]  # type: ignore[union-attr]
    evaluator = Evaluator(RetailTools, tau2_db)
    messages = [
        m for m in gold_messages(RetailTools, tau2_db, task) if m.tool_calls or m.role == "tool"
    ]
    missing = evaluator.evaluate(task, messages, STOP)
    assert missing.reward_breakdown and missing.reward_breakdown[RewardType.COMMUNICATE] == 0.0
    said = [*messages, Message(role="assistant", content=f"It is {info_str.upper()}, done.")]
    present = evaluator.evaluate(task, said, STOP)
    assert present.reward_breakdown and present.reward_breakdown[RewardType.COMMUNICATE] == 1.0
    assert present.action_checks and all(c.action_match for c in present.action_checks)
    assert {c.tool_type for c in present.action_checks} <= {"read", "write", "generic"}


def test_nl_assertions_use_the_judge_when_given(
    tau2_tasks: list[Task], tau2_db: RetailDatabase
) -> None:
    task = next(
        t for t in tau2_tasks if t.evaluation_criteria and t.evaluation_criteria.nl_assertions
    )

    class _Judge:
        def __init__(self, verdict: bool) -> None:
            self.verdict = verdict

        def judge(self, task, messages, assertions):  # type: ignore[no-untyped-def]
            from taskforge.contracts import NLAssertionCheck

            return [
                NLAssertionCheck(nl_assertion=a, met=self.verdict, justification="j")
                for a in assertions
            ]

    messages = gold_messages(RetailTools, tau2_db, task)
    unjudged = Evaluator(RetailTools, tau2_db).evaluate(task, messages, STOP)
    assert unjudged.skipped == [RewardType.NL_ASSERTION], "no judge: skipped, never passed"
    assert unjudged.reward_breakdown == {RewardType.DB: 1.0} and unjudged.nl_assertions is None
    yes = Evaluator(RetailTools, tau2_db, nl_judge=_Judge(True)).evaluate(task, messages, STOP)
    no = Evaluator(RetailTools, tau2_db, nl_judge=_Judge(False)).evaluate(task, messages, STOP)
    assert yes.reward == 1.0 and not yes.skipped
    assert no.reward == 0.0 and no.reward_breakdown == {
        RewardType.DB: 1.0,
        RewardType.NL_ASSERTION: 0.0,
    }


def test_gold_cache_is_keyed_by_gold_actions(
    tau2_tasks: list[Task], tau2_db: RetailDatabase
) -> None:
    task = _task(tau2_tasks, "0")
    evaluator = Evaluator(RetailTools, tau2_db)
    messages = gold_messages(RetailTools, tau2_db, task)
    assert evaluator.evaluate(task, messages, STOP).reward == 1.0
    changed = task.model_copy(deep=True)
    assert changed.evaluation_criteria and changed.evaluation_criteria.actions
    changed.evaluation_criteria.actions = changed.evaluation_criteria.actions[:-1]
    assert evaluator.evaluate(changed, messages, STOP).reward == 0.0


@pytest.mark.parametrize("role", ["assistant", "user"])
def test_unknown_and_read_calls_are_not_replayed(
    role: str, tau2_tasks: list[Task], tau2_db: RetailDatabase
) -> None:
    task = _task(tau2_tasks, "0")
    calls = [
        ToolCall(id="1", name="hallucinated", arguments={}),
        ToolCall(id="2", name="get_user_details", arguments={"user_id": "x"}),
    ]
    info = Evaluator(RetailTools, tau2_db).evaluate(
        task, [Message(role=role, tool_calls=calls)], STOP
    )  # type: ignore[arg-type]
    assert info.db_check is not None and not info.db_check.db_match
