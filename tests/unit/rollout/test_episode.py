"""The episode loop's tau2 semantics, with fake models (no LLM layer involved)."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

import pytest

from taskforge.contracts import Message, Task, TerminationReason, ToolCall
from taskforge.contracts.io import load_tasks
from taskforge.domains import get_domain
from taskforge.rollout.episode import EpisodeRunner, EpisodeSpec
from taskforge.rollout.prompts import GREETING
from taskforge.rollout.views import agent_view, user_view
from tests.unit.warehouse.conftest import REPO


@dataclass
class _Done:
    message: Message
    cost: float = 0.001
    extras: dict[str, Any] = field(default_factory=dict)


class _Script:
    """A fake model replaying a list of messages (or raising)."""

    def __init__(self, items: list[Any]) -> None:
        self.items = list(items)
        self.seen: list[list[dict[str, Any]]] = []

    async def complete(
        self,
        messages: list[dict[str, Any]],
        tools: Any = None,
        seed: Any = None,
        metadata: Any = None,
    ) -> _Done:
        self.seen.append(messages)
        item = self.items.pop(0) if self.items else Message(role="assistant", content="###STOP###")
        if isinstance(item, Exception):
            raise item
        return item if isinstance(item, _Done) else _Done(item)


def _say(text: str) -> Message:
    return Message(role="assistant", content=text)


def _call(name: str, args: dict[str, Any] | None = None, raw: str | None = None) -> Message:
    call = ToolCall(id=f"c-{name}", name=name, arguments=args or {}, raw_arguments=raw)
    return Message(role="assistant", tool_calls=[call])


@pytest.fixture(scope="module")
def world() -> tuple[Any, Any, Task]:
    dom = get_domain("retail")
    db = dom.load_db()
    task = load_tasks(REPO / "datasets" / "retail" / "seed_tasks.json")[0]
    return dom, db, task


def _spec(task: Task, **kw: Any) -> EpisodeSpec:
    return EpisodeSpec(
        episode_id="e1",
        task=task,
        trial=0,
        seed=1,
        agent_system="SYS",
        user_system="USR",
        tools=[],
        **kw,
    )


def _run(world: Any, agent: list[Any], user: list[Any], **kw: Any) -> Any:
    dom, db, task = world
    runner = EpisodeRunner(dom.toolkit_cls, db, _Script(agent), _Script(user))
    return asyncio.run(runner.run(_spec(task, **kw)))


def test_gold_episode_scores_one_and_user_stop(world: Any) -> None:
    _, _, task = world
    gold = [_call(a.name, a.arguments) for a in task.gold_actions()]
    traj = _run(
        world, [*gold, _say("Done, anything else?")], [_say("please cancel"), _say("###STOP###")]
    )
    assert traj.termination_reason is TerminationReason.USER_STOP
    assert traj.messages[0].content == GREETING and traj.messages[1].role == "user"
    assert traj.reward_info.reward == 1.0
    assert [m.role for m in traj.messages].count("tool") == len(gold)
    assert [m.turn_idx for m in traj.messages] == list(range(len(traj.messages)))


def test_malformed_tool_call_is_an_error_turn(world: Any) -> None:
    traj = _run(
        world,
        [_call("get_order_details", raw="{oops"), _say("sorry")],
        [_say("hi"), _say("###STOP###")],
    )
    tool = next(m for m in traj.messages if m.role == "tool")
    assert tool.error and tool.content.startswith("Error: arguments are not valid JSON")
    assert traj.termination_reason is TerminationReason.USER_STOP


@pytest.mark.parametrize(
    ("agent", "user", "kw", "reason"),
    [
        ([_say("###STOP###")], [_say("hi")], {}, TerminationReason.AGENT_STOP),
        ([_call("nope")] * 20, [_say("hi")], {"max_errors": 3}, TerminationReason.TOO_MANY_ERRORS),
        ([_say("ok")] * 50, [_say("more")] * 50, {"max_steps": 9}, TerminationReason.MAX_STEPS),
        ([RuntimeError("503")], [_say("hi")], {}, TerminationReason.AGENT_ERROR),
        ([], [RuntimeError("boom")], {}, TerminationReason.USER_ERROR),
    ],
)
def test_termination_reasons(
    world: Any, agent: list[Any], user: list[Any], kw: dict[str, Any], reason: TerminationReason
) -> None:
    traj = _run(world, agent, user, **kw)
    assert traj.termination_reason is reason
    if not reason.is_normal:
        assert traj.reward_info.reward == 0.0
    if reason is TerminationReason.MAX_STEPS:
        assert len(traj.messages) == 9


def test_transfer_and_out_of_scope_are_user_stops(world: Any) -> None:
    for token in ("###TRANSFER###", "###OUT-OF-SCOPE###"):
        traj = _run(world, [_say("ok")], [_say("hi"), _say(f"fine {token}")])
        assert traj.termination_reason is TerminationReason.USER_STOP


def test_error_modes_and_costs_are_recorded(world: Any) -> None:
    agent = [
        _Done(_say("Done."), cost=0.5, extras={"taskforge_error_modes": ["skip_confirmation"]})
    ]
    traj = _run(world, agent, [_Done(_say("hi"), cost=0.25), _Done(_say("###STOP###"), cost=0.25)])
    assert traj.error_modes == ["skip_confirmation"]
    assert traj.agent_cost == 0.5 and traj.user_cost == 0.5


def test_views() -> None:
    call = ToolCall(id="x", name="f", arguments={"a": 1})
    messages = [
        Message(role="assistant", content=GREETING),
        Message(role="user", content="hi"),
        Message(role="assistant", tool_calls=[call]),
        Message(role="tool", id="x", content="out"),
        Message(role="assistant", content="ok"),
    ]
    agent = agent_view("S", messages)
    assert [m["role"] for m in agent] == [
        "system",
        "assistant",
        "user",
        "assistant",
        "tool",
        "assistant",
    ]
    assert json.loads(agent[3]["tool_calls"][0]["function"]["arguments"]) == {"a": 1}
    assert agent[4]["tool_call_id"] == "x"
    user = user_view("U", messages)
    assert [(m["role"], m["content"]) for m in user] == [
        ("system", "U"),
        ("user", GREETING),
        ("assistant", "hi"),
        ("user", "ok"),
    ]
