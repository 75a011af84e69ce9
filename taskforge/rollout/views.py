"""The conversation as each side sees it, in OpenAI chat format.

The record keeps tau2's roles (assistant = agent, user = customer, tool = tool output). The
agent sees everything; the user simulator sees only the spoken messages, with the roles
swapped (the agent's words are its input, its own words are its output).
"""

from __future__ import annotations

from typing import Any

from taskforge.contracts import Message
from taskforge.llm.client import to_openai_messages


def agent_view(system: str, messages: list[Message]) -> list[dict[str, Any]]:
    """What the agent model is sent: the system prompt, then the whole record."""
    return [{"role": "system", "content": system}, *to_openai_messages(messages)]


def user_view(system: str, messages: list[Message]) -> list[dict[str, Any]]:
    """What the user simulator is sent: spoken messages only, roles swapped."""
    out: list[dict[str, Any]] = [{"role": "system", "content": system}]
    for m in messages:
        if m.role in ("assistant", "user") and m.content and not m.tool_calls:
            out.append(
                {"role": "user" if m.role == "assistant" else "assistant", "content": m.content}
            )
    return out
