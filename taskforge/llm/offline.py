"""Offline models as LiteLLM custom providers: ``taskforge/<agent>`` takes the online path.

An offline model is a *responder*: an object with ``respond(messages, tools) -> dict`` that
returns an OpenAI assistant message (``content`` and/or ``tool_calls``). Responders are made by
factories registered under an agent name::

    register_offline_agent("scripted-policy", lambda context, params: MyPolicy(context))

and are then reachable through LiteLLM as ``taskforge/scripted-policy``: ``litellm.acompletion``
routes the call to :class:`TaskforgeOfflineLLM` (a ``litellm.CustomLLM`` registered in
``litellm.custom_provider_map`` under the provider ``taskforge``), which dispatches by model
name, calls the responder and wraps its answer in a ``ModelResponse``. The LLM client therefore
treats offline and online models exactly alike.

Episode context. Scripted agents need what a model would read from its prompt and more (the
task, DB facts, a seed, error rates). The caller registers it in-process::

    register_episode("ep-1", {"task": task, "db": db, "seed": 7})
    await client.complete(messages, metadata={"taskforge_episode": "ep-1"})
    end_episode("ep-1")

In LiteLLM 1.106.2 the ``metadata=`` argument of ``acompletion`` reaches a custom provider as
``litellm_params["metadata"]`` (and is not sent to HTTP providers), so the handler looks up the
context there. A factory is called once per (episode, agent) and its responder is kept until
:func:`end_episode`; without an episode the context is ``{}`` and a responder is made per call.
``params`` are the call's ``optional_params`` minus ``tools``: temperature, max_tokens, seed and
whatever the role's ``extra`` adds (unknown keyword arguments of ``acompletion`` arrive there).

The answer. Tool-call ``arguments`` are passed on as the responder gave them (a dict is
JSON-encoded, a string is kept verbatim), so a responder can emit malformed JSON to exercise
the error path. Keys of the answer that start with ``taskforge_`` (e.g.
``taskforge_error_modes``) travel in the message's ``provider_specific_fields`` and in
``response._hidden_params["taskforge_extras"]``; both survive LiteLLM's response processing in
1.106.2, and the client reads them into ``Completion.extras``. Usage is estimated as
``len(json)//4`` tokens so accounting has numbers; cost is 0.

Responders run synchronously on the event loop (scripted agents take microseconds); one
call through LiteLLM costs about 5 ms of LiteLLM's own bookkeeping.

Errors. A responder (or factory) that raises, an unknown agent or an unknown episode become a
LiteLLM ``BadRequestError`` (status 400), which the client does not retry.

Agents known by name are imported on first use: for ``scripted-policy`` and ``scripted-user``,
``taskforge.rollout.offline_agents.register_scripted_agents`` is called when nothing is
registered under that name yet.

LiteLLM is imported lazily (it takes seconds): :func:`load_litellm` is the one entry point
taskforge uses; it sets ``LITELLM_LOCAL_MODEL_COST_MAP`` (no download of the cost map), quiets
LiteLLM's debug banners and registers the offline provider.
"""

from __future__ import annotations

import importlib
import json
import os
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

from taskforge.llm.config import OFFLINE_PROVIDER


class Responder(Protocol):
    """An offline model: answers a conversation with an OpenAI assistant message dict."""

    def respond(
        self, messages: list[dict[str, Any]], tools: list[dict[str, Any]]
    ) -> dict[str, Any]:
        """The assistant message: ``content`` and/or ``tool_calls``, plus ``taskforge_*`` keys."""
        ...


ResponderFactory = Callable[[dict[str, Any], dict[str, Any]], Responder]
"""Makes a responder from the episode context and the call parameters."""

EPISODE_KEY = "taskforge_episode"
"""Metadata key carrying the episode id from the client to the offline provider."""

EXTRA_PREFIX = "taskforge_"
"""Answer keys with this prefix are passed through to ``Completion.extras``."""

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # before any import of litellm

_LAZY_AGENTS: dict[str, tuple[str, str]] = {
    "scripted-policy": ("taskforge.rollout.offline_agents", "register_scripted_agents"),
    "scripted-user": ("taskforge.rollout.offline_agents", "register_scripted_agents"),
}

_NOT_PARAMS = frozenset({"tools", "tool_choice", "max_retries", "num_retries", "stream"})

_lock = threading.RLock()
_agents: dict[str, ResponderFactory] = {}
_episodes: dict[str, dict[str, Any]] = {}
_responders: dict[tuple[str, str], Responder] = {}
_litellm: Any = None


class OfflineError(Exception):
    """An offline call that cannot be answered (unknown agent or episode, responder failure)."""


# -- registries --------------------------------------------------------------------------------
def register_offline_agent(name: str, factory: ResponderFactory) -> None:
    """Make ``taskforge/<name>`` answer with responders built by ``factory`` (replaces any)."""
    with _lock:
        _agents[name] = factory


def unregister_offline_agent(name: str) -> None:
    """Forget an agent (no-op when unknown)."""
    with _lock:
        _agents.pop(name, None)


def offline_agents() -> list[str]:
    """Names of the registered offline agents."""
    with _lock:
        return sorted(_agents)


def register_episode(episode_id: str, context: dict[str, Any]) -> None:
    """Store the context scripted agents read during one episode (replaces any)."""
    with _lock:
        _episodes[episode_id] = context
        for key in [k for k in _responders if k[0] == episode_id]:
            del _responders[key]


def episode_context(episode_id: str) -> dict[str, Any]:
    """The context of a registered episode.

    Raises:
        OfflineError: when the episode is not registered (or has ended).
    """
    with _lock:
        try:
            return _episodes[episode_id]
        except KeyError:
            raise OfflineError(f"episode {episode_id!r} is not registered") from None


def end_episode(episode_id: str) -> None:
    """Drop an episode's context and responders (no-op when unknown)."""
    with _lock:
        _episodes.pop(episode_id, None)
        for key in [k for k in _responders if k[0] == episode_id]:
            del _responders[key]


def _factory(name: str) -> ResponderFactory:
    with _lock:
        factory = _agents.get(name)
    if factory is None and name in _LAZY_AGENTS:
        module, function = _LAZY_AGENTS[name]
        getattr(importlib.import_module(module), function)()
        with _lock:
            factory = _agents.get(name)
    if factory is None:
        known = ", ".join(offline_agents()) or "none"
        raise OfflineError(
            f"no offline agent {name!r} is registered (registered: {known}); "
            "register one with taskforge.llm.offline.register_offline_agent"
        )
    return factory


def responder_for(name: str, episode_id: str | None, params: dict[str, Any]) -> Responder:
    """The responder of agent ``name`` in an episode (made on first use and kept)."""
    factory = _factory(name)
    if episode_id is None:
        return factory({}, params)
    context = episode_context(episode_id)
    with _lock:
        responder = _responders.get((episode_id, name))
    if responder is None:
        responder = factory(context, params)
        with _lock:
            _responders[(episode_id, name)] = responder
    return responder


# -- the LiteLLM side --------------------------------------------------------------------------
def estimate_tokens(data: Any) -> int:
    """Rough token count of JSON-able data: its JSON length // 4, at least 1."""
    return max(1, len(json.dumps(data, default=str, ensure_ascii=False)) // 4)


def _tool_calls(reply: dict[str, Any], turn: int) -> list[dict[str, Any]] | None:
    calls = reply.get("tool_calls")
    if not calls:
        return None
    out = []
    for index, call in enumerate(calls):
        function = call.get("function") or {}
        arguments = function.get("arguments", call.get("arguments", ""))
        if not isinstance(arguments, str):
            arguments = json.dumps(arguments)
        out.append(
            {
                "id": call.get("id") or f"call_{turn}_{index}",
                "type": "function",
                "function": {
                    "name": function.get("name", call.get("name", "")),
                    "arguments": arguments,
                },
            }
        )
    return out


def build_response(
    model_response: Any,
    model: str,
    reply: dict[str, Any],
    messages: list[dict[str, Any]],
    tools: list[dict[str, Any]] | None,
) -> Any:
    """Fill LiteLLM's ``ModelResponse`` with a responder's answer, usage and extras."""
    types = importlib.import_module("litellm.types.utils")
    extras = {k: v for k, v in reply.items() if k.startswith(EXTRA_PREFIX)}
    calls = _tool_calls(reply, len(messages))
    message = types.Message(
        content=reply.get("content"),
        role="assistant",
        tool_calls=calls,
        provider_specific_fields=extras or None,
    )
    model_response.choices = [
        types.Choices(index=0, finish_reason="tool_calls" if calls else "stop", message=message)
    ]
    prompt_tokens = estimate_tokens([messages, tools])
    completion_tokens = estimate_tokens({k: v for k, v in reply.items() if k not in extras})
    model_response.usage = types.Usage(
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        total_tokens=prompt_tokens + completion_tokens,
    )
    model_response.model = f"{OFFLINE_PROVIDER}/{model}"
    model_response.created = int(time.time())
    model_response._hidden_params["taskforge_extras"] = extras
    return model_response


def answer(
    model: str, messages: list[dict[str, Any]], optional_params: dict[str, Any], litellm_params: Any
) -> dict[str, Any]:
    """Run the responder of ``model`` on one call; raises OfflineError when it cannot."""
    metadata = (litellm_params or {}).get("metadata") or {}
    episode = metadata.get(EPISODE_KEY)
    tools = list(optional_params.get("tools") or [])
    params = {k: v for k, v in optional_params.items() if k not in _NOT_PARAMS}
    try:
        reply = responder_for(model, episode, params).respond(messages, tools)
    except OfflineError:
        raise
    except Exception as exc:  # a bug in a scripted agent: a clear error, never retried
        raise OfflineError(f"offline agent {model!r} failed: {exc!r}") from exc
    if not isinstance(reply, dict):
        raise OfflineError(f"offline agent {model!r} answered {type(reply).__name__}, not a dict")
    return reply


def _handler_class(litellm: Any) -> type:
    """Build the ``CustomLLM`` subclass (here, so that litellm is imported lazily)."""
    custom_llm_error = importlib.import_module("litellm.llms.custom_llm").CustomLLMError

    def _complete(model: str, messages: list, model_response: Any, **kw: Any) -> Any:
        try:
            reply = answer(model, messages, kw["optional_params"], kw.get("litellm_params"))
        except OfflineError as exc:
            raise custom_llm_error(status_code=400, message=str(exc)) from exc
        tools = kw["optional_params"].get("tools")
        return build_response(model_response, model, reply, messages, tools)

    class TaskforgeOfflineLLM(litellm.CustomLLM):
        """LiteLLM custom provider ``taskforge``: dispatches to the offline agents."""

        def completion(self, model: str, messages: list, *args: Any, **kwargs: Any) -> Any:
            return _complete(model, messages, kwargs.pop("model_response"), **kwargs)

        async def acompletion(self, model: str, messages: list, *args: Any, **kwargs: Any) -> Any:
            return _complete(model, messages, kwargs.pop("model_response"), **kwargs)

    return TaskforgeOfflineLLM


def register_provider(litellm: Any) -> None:
    """Add the ``taskforge`` provider to ``litellm.custom_provider_map`` (idempotent)."""
    if any(item.get("provider") == OFFLINE_PROVIDER for item in litellm.custom_provider_map):
        return
    handler = _handler_class(litellm)()
    litellm.custom_provider_map = [
        *litellm.custom_provider_map,
        {"provider": OFFLINE_PROVIDER, "custom_handler": handler},
    ]
    importlib.import_module("litellm.utils").custom_llm_setup()


def load_litellm() -> Any:
    """Import LiteLLM (once), offline-safe and quiet, with the ``taskforge`` provider registered."""
    global _litellm
    with _lock:
        if _litellm is None:
            os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
            _litellm = importlib.import_module("litellm")
            _litellm.suppress_debug_info = True
        register_provider(_litellm)  # again, in case someone reset custom_provider_map
    return _litellm
