"""The LLM side of synthesis: asking a role for a JSON answer, and choosing roles from a config.

:func:`ask_json` sends one prompt through an :class:`taskforge.llm.LLMClient` (so any LiteLLM
model, with its cache, retries and token accounting), parses the JSON object of the answer,
validates it and, on an invalid answer, asks once more with the reason; then it gives up with
:class:`AnswerError`.

:func:`synthesis_roles` picks the implementations a config names: the ``writer`` role writes
the scenarios (:class:`~taskforge.synthesis.llm_writer.LLMWriter`) unless it is the offline
template writer; the ``explorer`` role explores the environment for blueprints
(:class:`~taskforge.synthesis.explorer.LLMExplorer`) unless it is offline (then the blueprint
samplers alone); LLM-written scenarios are checked against their gold actions by the
``judge`` role, or by the ``writer`` role when the judge is an offline one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from taskforge.errors import TaskforgeError
from taskforge.llm.client import LLMClient, LLMError

T = TypeVar("T")
RETRY_PROMPT = (
    "Your answer could not be used: {error}. Answer again with only the JSON object, with the "
    "keys asked for."
)


class AnswerError(TaskforgeError):
    """An LLM role gave no usable answer (the call failed, or the JSON was invalid twice)."""


async def aask_json(
    client: LLMClient, prompt: str, parse: Callable[[dict[str, Any]], T], seed: int | None = 0
) -> T:
    """Ask ``client`` for a JSON object and return ``parse(object)``.

    Args:
        client: The role's client.
        prompt: The whole prompt (one user message).
        parse: Validates the object and builds the result; raises ValueError when invalid.
        seed: Sampling seed of the calls (makes them cacheable).

    Raises:
        AnswerError: the call failed, or two answers in a row were invalid.
    """
    from taskforge.mining.judge import json_object

    messages: list[dict[str, Any]] = [{"role": "user", "content": prompt}]
    error = ""
    for _attempt in range(2):
        try:
            completion = await client.complete(messages, seed=seed)
        except LLMError as exc:
            raise AnswerError(f"{client.name}: call failed: {exc}") from exc
        text = completion.message.content or ""
        try:
            data = json_object(text)
            if not isinstance(data, dict):
                raise ValueError("the answer is not a JSON object")
            return parse(data)
        except ValueError as exc:
            error = str(exc)
            retry = {"role": "user", "content": RETRY_PROMPT.format(error=exc)}
            messages = [*messages, {"role": "assistant", "content": text}, retry]
    raise AnswerError(f"{client.name}: invalid answer twice: {error}")


def ask_json(
    client: LLMClient, prompt: str, parse: Callable[[dict[str, Any]], T], seed: int | None = 0
) -> T:
    """Synchronous :func:`aask_json` (not from inside a running event loop)."""
    return asyncio.run(aask_json(client, prompt, parse, seed))


def text_field(data: dict[str, Any], key: str, required: bool = True) -> str:
    """A string field of an answer (empty when optional and absent)."""
    value = data.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        raise ValueError(f"{key}: expected a non-empty string")
    return value.strip()


@dataclass
class SynthesisRoles:
    """The synthesis stages a config selects (None: the offline default)."""

    writer: Any = None
    explorer: Any = None
    agreement: Any = None
    clients: tuple[LLMClient, ...] = ()

    def usage(self) -> dict[str, Any]:
        """Calls and tokens of the LLM roles so far."""
        calls = sum(c.meter.calls for c in self.clients)
        tokens = sum(c.meter.prompt_tokens + c.meter.completion_tokens for c in self.clients)
        return {"llm_calls": calls, "llm_tokens": tokens}


def roles_from_file(path: Path | None, seed: int = 0) -> SynthesisRoles:
    """The roles of the LLM config at ``path``; offline (templates, samplers) when None."""
    if path is None:
        return SynthesisRoles()
    from taskforge.llm.config import load_llm_config

    return synthesis_roles(load_llm_config(path), seed)


def synthesis_roles(config: Any, seed: int = 0) -> SynthesisRoles:
    """The writer, explorer and agreement check that an :class:`LLMConfig` names."""
    from taskforge.llm.client import make_clients
    from taskforge.registry import build

    clients = make_clients(config, roles=("judge", "explorer", "writer"))
    roles = SynthesisRoles()
    used: list[LLMClient] = []
    if not config.writer.is_offline:
        roles.writer = build("writer", "llm", client=clients["writer"], seed=seed)
        used.append(clients["writer"])
    if not config.explorer.is_offline:
        roles.explorer = build("explorer", "llm", client=clients["explorer"], seed=seed)
        used.append(clients["explorer"])
    checker = next((clients[r] for r in ("judge", "writer") if not config.role(r).is_offline), None)
    if checker is not None:
        roles.agreement = build("agreement", "llm", client=checker, seed=seed)
        used.append(checker)
    roles.clients = tuple(dict.fromkeys(used))
    return roles


__all__ = [
    "AnswerError",
    "SynthesisRoles",
    "aask_json",
    "ask_json",
    "roles_from_file",
    "synthesis_roles",
    "text_field",
]
