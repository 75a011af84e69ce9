"""Token counts of an episode: the provider's counts when the messages carry them, else chars/4.

An assistant message whose ``usage`` holds ``completion_tokens`` (OpenAI, LiteLLM, tau2) or
``output_tokens`` (Anthropic style) is counted by that number. Every other message (tool
outputs, and assistant turns recorded without usage) is estimated as ``ceil(chars / 4)`` of
its text, reasoning, tool names and argument JSON. :class:`TokenCount` says which was used.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass

from taskforge.contracts import Message
from taskforge.contracts.rewardspec import TokenSource

CHARS_PER_TOKEN = 4
"""The estimate used when a message carries no provider count."""

_USAGE_KEYS = ("completion_tokens", "output_tokens")


@dataclass(frozen=True)
class TokenCount:
    """A number of tokens and where it came from."""

    n: int
    source: TokenSource


def estimate_tokens(text: str) -> int:
    """``ceil(len(text) / 4)``: the documented estimate."""
    return math.ceil(len(text) / CHARS_PER_TOKEN)


def message_text(message: Message) -> str:
    """Everything a message generated: text, reasoning, tool names and argument JSON."""
    parts = [message.content or ""]
    if isinstance(message.reasoning, str):
        parts.append(message.reasoning)
    for call in message.tool_calls or []:
        args = call.raw_arguments if call.raw_arguments is not None else json.dumps(call.arguments)
        parts.append(call.name + args)
    return "".join(parts)


def usage_tokens(message: Message) -> int | None:
    """The provider's output-token count of an assistant message, if it carries one."""
    if message.role != "assistant" or not isinstance(message.usage, dict):
        return None
    for key in _USAGE_KEYS:
        value = message.usage.get(key)
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            return value
    return None


def count_tokens(messages: Iterable[Message], roles: Iterable[str]) -> TokenCount:
    """Tokens of the messages whose role is in ``roles``."""
    wanted = set(roles)
    total, used_usage, used_estimate = 0, False, False
    for message in messages:
        if message.role not in wanted:
            continue
        counted = usage_tokens(message)
        if counted is None:
            total += estimate_tokens(message_text(message))
            used_estimate = True
        else:
            total += counted
            used_usage = True
    return TokenCount(total, _source(used_usage, used_estimate))


def _source(used_usage: bool, used_estimate: bool) -> TokenSource:
    if used_usage and used_estimate:
        return "mixed"
    if used_usage:
        return "usage"
    return "estimate" if used_estimate else "none"
