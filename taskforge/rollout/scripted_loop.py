"""A small episode loop for the scripted policy and user: a test and diagnostic harness.

It is not the orchestrator (that one runs any LiteLLM model pair, see
``taskforge.rollout.episode``); it drives :class:`ScriptedPolicy` and :class:`ScriptedUser`
directly, with no LLM layer, to measure them and to test them quickly.
"""

from __future__ import annotations

import json
from typing import Any

from taskforge.contracts import Message, Task, TerminationReason, ToolCall
from taskforge.env.db import Database
from taskforge.env.replay import initial_environment
from taskforge.env.toolkit import Toolkit
from taskforge.rollout.facts import derive_facts
from taskforge.rollout.scripted_policy import ERROR_MODES_KEY, ScriptedPolicy
from taskforge.rollout.scripted_user import STOP, TRANSFER, ScriptedUser

GREETING = "Hi! How can I help you today?"


def run_scripted_episode(
    task: Task,
    db: Database,
    toolkit_cls: type[Toolkit],
    error_rates: dict[str, float] | None,
    seed: int,
    max_steps: int = 200,
) -> tuple[list[Message], list[str], TerminationReason]:
    """Play one episode of the scripted policy against the scripted user.

    Args:
        task: The task (its gold actions feed only the user's facts).
        db: The task's base DB.
        toolkit_cls: The domain's toolkit.
        error_rates: The policy's error rates (None: the defaults).
        seed: Seed of both sides.
        max_steps: Most messages before the episode is cut (``MAX_STEPS``).

    Returns:
        The messages (tau2 format, greeting first), the fired error modes in order, and
        how the episode ended.
    """
    env = initial_environment(toolkit_cls, db, task)
    user = ScriptedUser(derive_facts(task, db), seed)
    policy = ScriptedPolicy(error_rates, seed)
    tools = env.tool_schemas()
    messages = [Message(role="assistant", content=GREETING)]
    agent_turn = False
    while len(messages) < max_steps:
        if not agent_turn:
            text = user.respond(_dialogue(messages))
            messages.append(Message(role="user", content=text))
            if STOP in text or TRANSFER in text:
                return messages, policy.fired, TerminationReason.USER_STOP
            agent_turn = True
            continue
        reply = policy.respond(_agent_view(messages), tools)
        reply.pop(ERROR_MODES_KEY, None)
        message = _to_message(reply)
        messages.append(message)
        if message.tool_calls:
            messages.extend(env.step(call) for call in message.tool_calls)
        else:
            agent_turn = False
    return messages, policy.fired, TerminationReason.MAX_STEPS


def _dialogue(messages: list[Message]) -> list[dict[str, Any]]:
    return [
        {"role": m.role, "content": m.content}
        for m in messages
        if m.role in ("user", "assistant") and m.content and not m.tool_calls
    ]


def _agent_view(messages: list[Message]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for m in messages:
        if m.role == "tool":
            out.append({"role": "tool", "tool_call_id": m.id, "content": m.content or ""})
        elif m.tool_calls:
            calls = [
                {
                    "id": c.id,
                    "type": "function",
                    "function": {"name": c.name, "arguments": json.dumps(c.arguments)},
                }
                for c in m.tool_calls
            ]
            out.append({"role": m.role, "content": m.content, "tool_calls": calls})
        else:
            out.append({"role": m.role, "content": m.content or ""})
    return out


def _to_message(reply: dict[str, Any]) -> Message:
    calls = [
        ToolCall(
            id=c["id"],
            name=c["function"]["name"],
            arguments=json.loads(c["function"]["arguments"] or "{}"),
        )
        for c in reply.get("tool_calls") or []
    ]
    return Message(role="assistant", content=reply.get("content"), tool_calls=calls or None)
