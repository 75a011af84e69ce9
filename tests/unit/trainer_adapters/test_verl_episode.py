"""A verl episode's state: tau2 record, tools on its own DB, limits, scoring (no verl needed)."""

from __future__ import annotations

import json

from taskforge.contracts import Message, Task, TerminationReason
from taskforge.domains import get_domain
from taskforge.env.db import Database
from taskforge.rollout.prompts import GREETING
from tests.unit.trainer_adapters.conftest import honest_dialogue
from trainer_adapters.verl.episode import Episode, EpisodeLimits, split_reasoning

TOOLKIT = get_domain("retail").toolkit_cls


def _episode(task: Task, db: Database, first: str, **limits: int) -> Episode:
    opening = [
        {"role": "system", "content": "policy"},
        {"role": "assistant", "content": GREETING},
        {"role": "user", "content": first},
    ]
    return Episode("ep-1", task, db, TOOLKIT, opening, EpisodeLimits(**limits))


def _replay(episode: Episode, dialogue: list[Message]) -> None:
    """Feed the episode what the agent loop would: agent turns, tool answers, user turns."""
    for message in dialogue[2:]:
        if message.role == "assistant":
            calls = [(c.name, json.dumps(c.arguments), None) for c in message.tool_calls or []]
            recorded = episode.add_agent(message.content or "", calls, {"completion_tokens": 7})
            for call in reversed(recorded):  # answers may come back in any order
                episode.answer(call.id, *episode.execute(call.name, call.arguments))
            if recorded:
                episode.record_answers()
        elif message.role == "user":
            episode.add_user(message.content or "")


def test_an_honest_episode_is_recorded_like_tau2_and_scores_1(
    seed_tasks: list[Task], db: Database
) -> None:
    for task in seed_tasks:
        dialogue = honest_dialogue(task, db)
        episode = _episode(task, db, dialogue[1].content or "")
        _replay(episode, dialogue)
        assert episode.termination is TerminationReason.USER_STOP
        trajectory = episode.trajectory()
        assert trajectory.reward_info is not None and trajectory.reward_info.reward == 1.0
        got = [
            (m.role, m.content, [c.name for c in m.tool_calls or []]) for m in trajectory.messages
        ]
        want = [(m.role, m.content, [c.name for c in m.tool_calls or []]) for m in dialogue]
        assert got == want
        assert [m.turn_idx for m in trajectory.messages] == list(range(len(dialogue)))
        assert len(episode.tool_log) == sum(len(m.tool_calls or []) for m in dialogue)
        assert all(
            m.usage == {"completion_tokens": 7}
            for m in trajectory.messages[2:]
            if m.role == "assistant"
        )


def test_tool_answers_keep_call_order_and_count_errors(
    seed_tasks: list[Task], db: Database
) -> None:
    episode = _episode(seed_tasks[0], db, "hi", max_errors=1)
    calls = episode.add_agent(
        "",
        [("get_user_details", '{"user_id": "nobody"}', "a"), ("no_such_tool", "{}", "b"),
         ("get_order_details", "{not json", "c")],
        {},
    )  # fmt: skip
    assert [c.id for c in calls] == ["a", "b", "c"] and calls[2].raw_arguments == "{not json"
    episode.answer("b", "Unknown function 'no_such_tool'", True)
    episode.answer("a", *episode.execute("get_user_details", {"user_id": "nobody"}))
    episode.record_answers()  # "c" was never answered: recorded as an error
    tools = episode.messages[-3:]
    assert [t.id for t in tools] == ["a", "b", "c"] and all(t.error for t in tools)
    assert tools[0].content.startswith("Error:") and "not run" in (tools[2].content or "")
    assert episode.termination is TerminationReason.TOO_MANY_ERRORS
    assert episode.trajectory().reward_info.reward == 0.0  # type: ignore[union-attr]


def test_agent_stop_user_stop_max_steps_and_user_error(
    seed_tasks: list[Task], db: Database
) -> None:
    task = seed_tasks[0]
    agent = _episode(task, db, "hi")
    agent.add_agent("Goodbye ###STOP###", [], {})
    assert agent.termination is TerminationReason.AGENT_STOP
    user = _episode(task, db, "hi")
    user.add_agent("Anything else?", [], {})
    user.add_user("No, thanks. ###TRANSFER###")
    assert user.termination is TerminationReason.USER_STOP
    steps = _episode(task, db, "hi", max_steps=4)
    steps.add_agent("Let me check.", [], {})
    steps.add_user("ok")
    assert steps.termination is TerminationReason.MAX_STEPS
    failed = _episode(task, db, "hi")
    failed.user_error("user model: timeout")
    assert failed.termination is TerminationReason.USER_ERROR
    assert failed.messages[-1].errors == "user model: timeout"
    unfinished = _episode(task, db, "hi").trajectory()
    assert unfinished.termination_reason is TerminationReason.MAX_STEPS


def test_the_first_termination_reason_wins(seed_tasks: list[Task], db: Database) -> None:
    episode = _episode(seed_tasks[0], db, "hi")
    episode.add_agent("###STOP###", [], {})
    episode.end(TerminationReason.CONTEXT_WINDOW_EXCEEDED)
    assert episode.termination is TerminationReason.AGENT_STOP


def test_reasoning_and_tool_call_markup_leave_the_text() -> None:
    text = '<think>check the order</think>Let me look.\n<tool_call>\n{"name": "x"}\n</tool_call>'
    assert split_reasoning(text) == ("Let me look.", "check the order")
    assert split_reasoning("plain") == ("plain", None)
