"""Offline models registered with LiteLLM as the custom provider ``taskforge``."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from taskforge.llm import (
    LLMClient,
    LLMError,
    RoleConfig,
    UsageMeter,
    end_episode,
    episode_context,
    episode_metadata,
    load_litellm,
    register_episode,
    register_offline_agent,
)
from taskforge.llm.offline import OfflineError, offline_agents, unregister_offline_agent

TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "find_user_id_by_email",
            "parameters": {"type": "object", "properties": {"email": {"type": "string"}}},
        },
    }
]


class EchoResponder:
    """Calls the first offered tool with the episode's email; counts its own turns."""

    made = 0

    def __init__(self, context: dict[str, Any], params: dict[str, Any]) -> None:
        EchoResponder.made += 1
        self.context = context
        self.params = params
        self.turns = 0

    def respond(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]]) -> dict:
        self.turns += 1
        if self.context.get("malformed"):
            arguments: Any = "{not json"
        else:
            arguments = {"email": self.context.get("email", "")}
        return {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"function": {"name": tools[0]["function"]["name"], "arguments": arguments}}
            ],
            "taskforge_error_modes": ["wrong_argument"] if self.context.get("malformed") else [],
            "taskforge_seen": {"params": self.params, "turn": self.turns, "n": len(messages)},
        }


class BrokenResponder:
    def __init__(self, context: dict[str, Any], params: dict[str, Any]) -> None:
        if context.get("fail_at_start"):
            raise KeyError("db")

    def respond(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]]) -> dict:
        raise RuntimeError("scripted bug")


@pytest.fixture(autouse=True)
def agents() -> Iterator[None]:
    register_offline_agent("echo-test", EchoResponder)
    register_offline_agent("broken-test", BrokenResponder)
    yield
    unregister_offline_agent("echo-test")
    unregister_offline_agent("broken-test")
    end_episode("ep-1")


def _client(agent: str = "echo-test", **kwargs: Any) -> LLMClient:
    return LLMClient(RoleConfig(model=f"taskforge/{agent}", **kwargs), name="policy")


def test_tool_call_through_litellm_acompletion() -> None:
    litellm = load_litellm()
    register_episode("ep-1", {"email": "a@b.c"})
    response = asyncio.run(
        litellm.acompletion(
            model="taskforge/echo-test",
            messages=[{"role": "user", "content": "hi"}],
            tools=TOOLS,
            metadata=episode_metadata("ep-1"),
        )
    )
    call = response.choices[0].message.tool_calls[0]
    assert call.function.name == "find_user_id_by_email"
    assert call.function.arguments == '{"email": "a@b.c"}'
    assert response.usage.prompt_tokens > 0


def test_completion_carries_tool_call_error_modes_and_params() -> None:
    register_episode("ep-1", {"email": "a@b.c", "malformed": True})
    meter = UsageMeter()
    client = _client(temperature=0.0, extra={"error_rates": {"wrong_argument": 0.5}})
    done = asyncio.run(
        client.complete(
            [{"role": "user", "content": "hi"}],
            tools=TOOLS,
            seed=11,
            metadata=episode_metadata("ep-1"),
            meter=meter,
        )
    )
    (call,) = done.message.tool_calls or []
    assert call.name == "find_user_id_by_email"
    assert call.arguments == {} and call.raw_arguments == "{not json"
    assert call.id  # a provider with no id gets one
    assert done.extras["taskforge_error_modes"] == ["wrong_argument"]
    params = done.extras["taskforge_seen"]["params"]
    assert params == {"temperature": 0.0, "seed": 11, "error_rates": {"wrong_argument": 0.5}}
    assert done.cost == 0.0 and not done.cached
    assert meter.calls == 1 and meter.prompt_tokens > 0 and meter.completion_tokens > 0


def test_responder_lives_for_the_episode() -> None:
    register_episode("ep-1", {"email": "x@y.z"})
    client = _client()
    before = EchoResponder.made

    async def turns() -> list[int]:
        out = []
        for _ in range(3):
            done = await client.complete(
                [{"role": "user", "content": "hi"}], tools=TOOLS, metadata=episode_metadata("ep-1")
            )
            out.append(done.extras["taskforge_seen"]["turn"])
        return out

    assert asyncio.run(turns()) == [1, 2, 3]
    assert EchoResponder.made == before + 1
    end_episode("ep-1")
    with pytest.raises(OfflineError, match="not registered"):
        episode_context("ep-1")


def test_offline_models_are_never_cached(tmp_path: Any) -> None:
    register_episode("ep-1", {"email": "x@y.z"})
    client = LLMClient(RoleConfig(model="taskforge/echo-test", temperature=0.0), tmp_path)
    ask = [{"role": "user", "content": "hi"}]
    for _ in range(2):
        done = asyncio.run(client.complete(ask, TOOLS, seed=1, metadata=episode_metadata("ep-1")))
        assert not done.cached
    assert not list(tmp_path.rglob("*.json"))


def test_unknown_episode_is_a_clear_error_not_retried() -> None:
    with pytest.raises(LLMError, match=r"BadRequestError after 1 attempt.*'ep-none'"):
        asyncio.run(
            _client().complete(
                [{"role": "user", "content": "hi"}], TOOLS, metadata=episode_metadata("ep-none")
            )
        )


def test_unknown_agent_and_broken_responder() -> None:
    with pytest.raises(LLMError, match="no offline agent 'nobody'"):
        asyncio.run(_client("nobody").complete([{"role": "user", "content": "hi"}]))
    with pytest.raises(LLMError, match="scripted bug"):
        asyncio.run(_client("broken-test").complete([{"role": "user", "content": "hi"}]))
    register_episode("ep-1", {"fail_at_start": True})
    with pytest.raises(LLMError, match=r"after 1 attempt: .*KeyError\('db'\)"):
        asyncio.run(
            _client("broken-test").complete(
                [{"role": "user", "content": "hi"}], metadata=episode_metadata("ep-1")
            )
        )


def test_without_an_episode_the_context_is_empty() -> None:
    done = asyncio.run(_client().complete([{"role": "user", "content": "hi"}], TOOLS))
    (call,) = done.message.tool_calls or []
    assert call.arguments == {"email": ""}


def test_sync_completion_path() -> None:
    litellm = load_litellm()
    response = litellm.completion(
        model="taskforge/echo-test", messages=[{"role": "user", "content": "hi"}], tools=TOOLS
    )
    assert response.choices[0].message.tool_calls[0].function.name == "find_user_id_by_email"


def test_registration_is_idempotent() -> None:
    litellm = load_litellm()
    load_litellm()
    providers = [item["provider"] for item in litellm.custom_provider_map]
    assert providers.count("taskforge") == 1
    assert "echo-test" in offline_agents()


def test_scripted_agents_register_on_first_use() -> None:
    pytest.importorskip("taskforge.rollout.offline_agents")
    from taskforge.llm.offline import _factory

    unregister_offline_agent("scripted-policy")
    assert callable(_factory("scripted-policy"))
    assert "scripted-policy" in offline_agents()
