"""The conversation as each side sees it, in OpenAI chat format.

The record keeps tau2's roles (assistant = agent, user = customer, tool = tool output). The
agent sees everything; the user simulator sees only the spoken messages, with the roles
swapped (the agent's words are its input, its own words are its output).
"""

from __future__ import annotations

import json
from typing import Any

from taskforge.contracts import Message, ToolCall


def _call_dict(call: ToolCall) -> dict[str, Any]:
    arguments = call.raw_arguments if call.raw_arguments is not None else json.dumps(call.arguments)
    return {
        "id": call.id,
        "type": "function",
        "function": {"name": call.name, "arguments": arguments},
    }


def agent_view(system: str, messages: list[Message]) -> list[dict[str, Any]]:
    """What the agent model is sent."""
    out: list[dict[str, Any]] = [{"role": "system", "content": system}]
    for m in messages:
        if m.role == "tool":
            out.append({"role": "tool", "tool_call_id": m.id, "content": m.content or ""})
        elif m.role == "assistant" and m.tool_calls:
            out.append(
                {
                    "role": "assistant",
                    "content": m.content,
                    "tool_calls": [_call_dict(c) for c in m.tool_calls],
                }
            )
        elif m.role in ("assistant", "user"):
            out.append({"role": m.role, "content": m.content or ""})
    return out


def user_view(system: str, messages: list[Message]) -> list[dict[str, Any]]:
    """What the user simulator is sent: spoken messages only, roles swapped."""
    out: list[dict[str, Any]] = [{"role": "system", "content": system}]
    for m in messages:
        if m.role in ("assistant", "user") and m.content and not m.tool_calls:
            out.append(
                {"role": "user" if m.role == "assistant" else "assistant", "content": m.content}
            )
    return out
