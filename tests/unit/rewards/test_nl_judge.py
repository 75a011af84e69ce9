"""The LLM judge of tau2's NL assertions, against a scripted OpenAI-compatible server."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
import yaml

from taskforge.contracts import Message, RewardType, Task, TerminationReason, ToolCall
from taskforge.env.bench import gold_messages
from taskforge.env.evaluator import Evaluator
from taskforge.llm import packaged_config
from taskforge.registry import build
from taskforge.rewards.nl_judge import (
    CALL_FAILED,
    UNPARSEABLE,
    LLMNLJudge,
    nl_judge_from_config,
    parse_verdict,
    render_dialogue,
)
from tests.fake_openai_server import FakeOpenAIServer, fake_role, text_reply
from tests.nl_tasks import with_nl_assertions

STOP = TerminationReason.USER_STOP
MET = "Agent should confirm the cancellation to the user."
NOT_MET = "Agent should offer a refund in cash."


def _config(tmp_path: Path, url: str, monkeypatch: pytest.MonkeyPatch, **role: Any) -> Path:
    judge = fake_role(url, monkeypatch, "openai/fake-judge", temperature=0.0, max_retries=0, **role)
    path = tmp_path / "llm.yaml"
    path.write_text(yaml.safe_dump({"judge": judge, "cache_dir": str(tmp_path / "cache")}))
    return path


def _judge(tmp_path: Path, url: str, monkeypatch: pytest.MonkeyPatch) -> LLMNLJudge:
    judge = nl_judge_from_config(_config(tmp_path, url, monkeypatch))
    assert isinstance(judge, LLMNLJudge)
    return judge


def _by_statement(body: dict[str, Any]) -> dict[str, Any]:
    """YES unless the statement asks for a cash refund."""
    prompt = body["messages"][-1]["content"]
    if f"Statement: {NOT_MET}" in prompt:
        return text_reply("NO. The agent never mentioned cash.")
    return text_reply("YES - the agent said the order is cancelled.")


@pytest.fixture()
def episode(seed_tasks: list[Task], shipped_db, retail):  # type: ignore[no-untyped-def]
    """A seed task and its gold dialogue."""
    task = next(t for t in seed_tasks if t.gold_actions())
    return task, gold_messages(retail.toolkit_cls, shipped_db, task)


@pytest.mark.parametrize(
    ("text", "met"),
    [
        ("YES", True),
        ("yes, the agent did it.", True),
        ("**No**: nothing was said", False),
        ("Verdict: NO - wrong order", False),
        ('{"met": true, "reason": "done"}', True),
        ('Here: ```json\n{"metExpectation": "false", "reasoning": "x"}\n```', False),
        ("<think>hmm yes</think> No.", False),
        ("TRUE", True),
        ("The agent did things.", None),
        ("", None),
        ("{not json} maybe", None),
        ("The conversation shows that the statement is true.", True),
        ("The statement is not true, the order was kept.", False),
    ],
)
def test_verdicts_are_parsed_leniently(text: str, met: bool | None) -> None:
    verdict = parse_verdict(text)
    assert (verdict[0] if verdict else None) is met


def test_verdicts_land_in_reward_info(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, episode, shipped_db, retail
) -> None:  # type: ignore[no-untyped-def]
    task, messages = episode
    with FakeOpenAIServer(_by_statement) as server:
        judge = _judge(tmp_path, server.url, monkeypatch)
        evaluator = Evaluator(retail.toolkit_cls, shipped_db, judge)
        good = evaluator.evaluate(
            with_nl_assertions(task, [MET, "Agent should be polite."]), messages, STOP
        )
        bad = evaluator.evaluate(with_nl_assertions(task, [MET, NOT_MET]), messages, STOP)
        assert len(server.requests) == 3, "one call per assertion, the repeated one remembered"
    assert good.reward == 1.0 and not good.skipped
    assert good.reward_breakdown == {RewardType.DB: 1.0, RewardType.NL_ASSERTION: 1.0}
    assert good.nl_assertions and [c.met for c in good.nl_assertions] == [True, True]
    assert good.nl_assertions[0].justification.startswith("the agent said the order")
    assert bad.reward == 0.0
    assert bad.reward_breakdown == {RewardType.DB: 1.0, RewardType.NL_ASSERTION: 0.0}
    assert bad.nl_assertions and [c.met for c in bad.nl_assertions] == [True, False]
    assert bad.nl_assertions[1].justification == "The agent never mentioned cash"
    assert judge.stats.calls == 3 and judge.stats.memory_hits == 1
    prompts = [r["messages"][-1]["content"] for r in server.requests]  # concurrent: any order
    assert sum("Statement: Agent should be polite." in p for p in prompts) == 1


def test_unparseable_output_is_not_met_and_counted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, episode, shipped_db, retail
) -> None:  # type: ignore[no-untyped-def]
    task, messages = episode
    rambling = "The agent " + "talked " * 60
    with FakeOpenAIServer([text_reply(rambling)]) as server:
        judge = _judge(tmp_path, server.url, monkeypatch)
        info = Evaluator(retail.toolkit_cls, shipped_db, judge).evaluate(
            with_nl_assertions(task, [MET]), messages, STOP
        )
    assert info.reward == 0.0 and info.nl_assertions is not None
    check = info.nl_assertions[0]
    assert not check.met and check.justification == UNPARSEABLE + rambling[:200]
    assert judge.stats.unparseable == 1 and judge.stats.errors == 0


def test_a_failed_call_is_not_met_and_not_remembered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, episode
) -> None:  # type: ignore[no-untyped-def]
    task, messages = episode
    with FakeOpenAIServer([]) as server:  # every request answers 500
        judge = _judge(tmp_path, server.url, monkeypatch)
        first = judge.judge(task, messages, [MET])
        second = judge.judge(task, messages, [MET])
        assert len(server.requests) == 2
    assert not first[0].met and first[0].justification.startswith(CALL_FAILED)
    assert "fake-judge" in first[0].justification and second == first
    assert judge.stats.errors == 2 and judge.stats.memory_hits == 0


def test_identical_judgments_are_cached_in_memory_and_on_disk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, episode
) -> None:  # type: ignore[no-untyped-def]
    task, messages = episode
    with FakeOpenAIServer(_by_statement) as server:
        judge = _judge(tmp_path, server.url, monkeypatch)
        first = judge.judge(task, messages, [MET])
        again = judge.judge(task, [m.model_copy() for m in messages], [MET])
        assert len(server.requests) == 1 and again == first
        fresh = _judge(tmp_path, server.url, monkeypatch)  # same cache_dir, empty memory
        assert fresh.judge(task, messages, [MET]) == first
        assert len(server.requests) == 1 and fresh.client.meter.cache_hits == 1
        other = judge.judge(task, messages[:-1], [MET])  # another dialogue: a new call
        assert len(server.requests) == 2 and other[0].met


def test_judge_works_inside_a_running_event_loop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, episode
) -> None:  # type: ignore[no-untyped-def]
    task, messages = episode

    async def episode_end() -> list[bool]:
        await asyncio.sleep(0)
        return [c.met for c in judge.judge(task, messages, [MET, NOT_MET])]

    with FakeOpenAIServer(_by_statement) as server:
        judge = _judge(tmp_path, server.url, monkeypatch)
        assert asyncio.run(episode_end()) == [True, False]
        assert judge.judge(task, messages, [NOT_MET])[0].met is False  # and outside one


def test_offline_judge_role_gives_no_judge_and_nl_stays_skipped(
    episode, shipped_db, retail
) -> None:  # type: ignore[no-untyped-def]
    task, messages = episode
    assert nl_judge_from_config(None) is None
    assert nl_judge_from_config(packaged_config("offline")) is None
    judge = build("nl_judge", "llm", llm_config=None)
    info = Evaluator(retail.toolkit_cls, shipped_db, judge).evaluate(
        with_nl_assertions(task, [MET]), messages, STOP
    )
    assert judge is None and info.skipped == [RewardType.NL_ASSERTION]
    assert info.nl_assertions is None and info.reward_breakdown == {RewardType.DB: 1.0}


def test_registry_builds_the_judge_from_a_config_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _config(tmp_path, "http://127.0.0.1:9/v1", monkeypatch)
    judge = build("nl_judge", "llm", llm_config=path, use_cache=False)
    assert isinstance(judge, LLMNLJudge) and judge.model == "openai/fake-judge"
    assert judge.client.cache is None


def test_dialogue_is_plain_text_with_short_tool_results() -> None:
    call = ToolCall(id="c1", name="get_order_details", arguments={"order_id": "#W1"})
    messages = [
        Message(role="system", content="policy text"),
        Message(role="assistant", content="Hi! How can I help?"),
        Message(role="user", content="Where is my order?"),
        Message(role="assistant", content=None, tool_calls=[call]),
        Message(role="tool", id="c1", content="x" * 1000),
        Message(role="tool", id="c2", content="Error: no such order", error=True),
    ]
    lines = render_dialogue(messages).splitlines()
    assert lines[:3] == [
        "agent: Hi! How can I help?",
        "user: Where is my order?",
        'agent calls get_order_details({"order_id": "#W1"})',
    ]
    assert lines[3] == f"tool result: {'x' * 200} [...]"
    assert lines[4] == "tool error: Error: no such order"
    long = [Message(role="user", content=f"turn {i} " + "y" * 500) for i in range(100)]
    text = render_dialogue(long)
    assert len(text) <= 16000 and "turns left out" in text
    assert text.startswith("user: turn 0 ") and "user: turn 99 " in text
