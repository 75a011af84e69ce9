"""LLMClient against a scripted OpenAI-compatible server on 127.0.0.1, through LiteLLM."""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from taskforge.contracts import Message, ToolCall
from taskforge.llm import (
    LLMClient,
    LLMError,
    LLMTimeoutError,
    RoleConfig,
    UsageMeter,
    parse_tool_call,
    to_openai_messages,
)
from tests.fake_openai_server import FakeOpenAIServer, text_reply, tool_call_reply

KEY_ENV = "TASKFORGE_TEST_FAKE_KEY"
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_order_details",
            "description": "Order details.",
            "parameters": {
                "type": "object",
                "properties": {"order_id": {"type": "string"}},
                "required": ["order_id"],
            },
        },
    }
]
ASK = [{"role": "user", "content": "Where is my order #W1?"}]


@pytest.fixture
def server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer() as srv:
        yield srv


@pytest.fixture(autouse=True)
def fake_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, "dummy-test-key")


def _role(server: FakeOpenAIServer, **kwargs: Any) -> RoleConfig:
    defaults: dict[str, Any] = {
        "model": "openai/fake",
        "api_base": server.url,
        "api_key_env": KEY_ENV,
        "temperature": 0.0,
        "timeout_s": 10.0,
        "backoff_base_s": 0.01,
        "backoff_max_s": 0.05,
    }
    return RoleConfig(**{**defaults, **kwargs})


def test_tool_calls_are_normalised(server: FakeOpenAIServer) -> None:
    server.script = [tool_call_reply("get_order_details", {"order_id": "#W1"}, "call_7")]
    meter = UsageMeter()
    client = LLMClient(_role(server), name="policy")
    done = asyncio.run(client.complete(ASK, tools=TOOLS, meter=meter))
    assert done.message.role == "assistant"
    assert done.message.tool_calls == [
        ToolCall(id="call_7", name="get_order_details", arguments={"order_id": "#W1"})
    ]
    assert not done.cached and done.attempts == 1
    assert done.usage.prompt_tokens > 0 and done.usage.completion_tokens > 0
    assert done.message.usage == {
        "prompt_tokens": done.usage.prompt_tokens,
        "completion_tokens": done.usage.completion_tokens,
    }
    assert done.cost == 0.0  # a self-hosted model has no price
    assert meter.calls == 1 and meter.prompt_tokens == done.usage.prompt_tokens
    sent = server.requests[0]
    assert sent["messages"] == ASK and sent["tools"] == TOOLS and sent["temperature"] == 0.0
    assert "metadata" not in sent
    assert server.request_headers[0]["authorization"] == "Bearer dummy-test-key"


def test_text_answer(server: FakeOpenAIServer) -> None:
    server.script = [text_reply("It has shipped.")]
    done = asyncio.run(LLMClient(_role(server)).complete(ASK, tools=TOOLS))
    assert done.message.content == "It has shipped."
    assert done.message.tool_calls is None


@pytest.mark.parametrize("raw", ["{not json", "[1, 2]", '"order"', "null"])
def test_malformed_tool_call_keeps_the_raw_string(server: FakeOpenAIServer, raw: str) -> None:
    server.script = [tool_call_reply("get_order_details", raw)]
    done = asyncio.run(LLMClient(_role(server)).complete(ASK, tools=TOOLS))
    (call,) = done.message.tool_calls or []
    assert call.name == "get_order_details"
    assert call.arguments == {}
    assert call.raw_arguments == raw
    # the raw string goes back to the model verbatim in the next request
    (sent,) = to_openai_messages([done.message])
    assert sent["tool_calls"][0]["function"]["arguments"] == raw


def test_retry_after_rate_limit(server: FakeOpenAIServer) -> None:
    server.script = [text_reply("after the 429")]
    server.fail_next(429)
    client = LLMClient(_role(server))
    done = asyncio.run(client.complete(ASK))
    assert done.message.content == "after the 429"
    assert done.attempts == 2
    assert server.errors_served == [429]
    assert len(server.requests) == 2
    assert client.meter.retries == 1


def test_retry_honours_retry_after(server: FakeOpenAIServer) -> None:
    server.script = [text_reply("later")]
    server.fail_next(429, retry_after=0.3)
    start = time.perf_counter()
    done = asyncio.run(LLMClient(_role(server, backoff_max_s=2.0)).complete(ASK))
    assert done.attempts == 2
    assert time.perf_counter() - start >= 0.3


def test_retry_on_server_error(server: FakeOpenAIServer) -> None:
    server.script = [text_reply("ok")]
    server.fail_next(503)
    done = asyncio.run(LLMClient(_role(server)).complete(ASK))
    assert done.attempts == 2 and done.message.content == "ok"


def test_rate_limit_gives_up_after_max_retries(server: FakeOpenAIServer) -> None:
    server.fail_next(429, count=5)
    client = LLMClient(_role(server, max_retries=2), name="judge")
    with pytest.raises(LLMError) as info:
        asyncio.run(client.complete(ASK))
    message = str(info.value)
    assert message.startswith("judge (openai/fake): RateLimitError after 3 attempts")
    assert "\n" not in message
    assert len(server.requests) == 3


def test_bad_request_is_not_retried(server: FakeOpenAIServer) -> None:
    server.fail_next(400)
    with pytest.raises(LLMError, match="BadRequestError after 1 attempt"):
        asyncio.run(LLMClient(_role(server)).complete(ASK))
    assert len(server.requests) == 1


def test_timeout_raises_a_clear_error(server: FakeOpenAIServer) -> None:
    server.latency_s = 1.0
    client = LLMClient(_role(server, timeout_s=0.2, max_retries=1), name="user")
    start = time.perf_counter()
    with pytest.raises(LLMTimeoutError) as info:
        asyncio.run(client.complete(ASK))
    assert time.perf_counter() - start < 1.5
    assert str(info.value) == "user (openai/fake): no answer within 0.2 s (after 2 attempts)"


def test_missing_key_variable_is_named(
    server: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(KEY_ENV)
    with pytest.raises(LLMError, match=f"environment variable {KEY_ENV} .* is not set"):
        asyncio.run(LLMClient(_role(server), name="policy").complete(ASK))
    assert server.requests == []


def test_cache_hit_does_not_call_the_server(server: FakeOpenAIServer, tmp_path: Path) -> None:
    server.script = lambda body: tool_call_reply("get_order_details", {"order_id": "#W1"})
    client = LLMClient(_role(server), cache_dir=tmp_path)

    async def twice() -> list[Any]:
        return [await client.complete(ASK, tools=TOOLS, seed=1) for _ in range(2)]

    first, second = asyncio.run(twice())
    assert len(server.requests) == 1
    assert (first.cached, second.cached) == (False, True)
    assert second.message.tool_calls == first.message.tool_calls
    assert second.usage == first.usage
    assert client.meter.cache_hits == 1 and client.meter.calls == 2
    assert len(list(tmp_path.rglob("*.json"))) == 1
    # another seed, other tools or another client without the cache: the server is called
    asyncio.run(client.complete(ASK, tools=TOOLS, seed=2))
    asyncio.run(client.complete(ASK, seed=1))
    no_cache = LLMClient(_role(server), cache_dir=tmp_path, use_cache=False)
    assert not asyncio.run(no_cache.complete(ASK, tools=TOOLS, seed=1)).cached
    assert len(server.requests) == 4


def test_cache_survives_a_new_client(server: FakeOpenAIServer, tmp_path: Path) -> None:
    server.script = [text_reply("once")]
    asyncio.run(LLMClient(_role(server), cache_dir=tmp_path).complete(ASK))
    again = asyncio.run(LLMClient(_role(server), cache_dir=tmp_path).complete(ASK))
    assert again.cached and again.message.content == "once"
    assert len(server.requests) == 1


def test_sampling_without_seed_is_not_cached(server: FakeOpenAIServer, tmp_path: Path) -> None:
    server.script = [text_reply("a"), text_reply("b")]
    client = LLMClient(_role(server, temperature=1.0), cache_dir=tmp_path)

    async def twice() -> list[str | None]:
        return [(await client.complete(ASK)).message.content for _ in range(2)]

    assert asyncio.run(twice()) == ["a", "b"]


def test_corrupt_cache_entry_is_a_miss(server: FakeOpenAIServer, tmp_path: Path) -> None:
    server.script = [text_reply("x"), text_reply("y")]
    client = LLMClient(_role(server), cache_dir=tmp_path)
    asyncio.run(client.complete(ASK))
    (entry,) = tmp_path.rglob("*.json")
    entry.write_text("{broken")
    assert asyncio.run(client.complete(ASK)).message.content == "y"
    assert json.loads(entry.read_text())["message"]["content"] == "y"


async def _burst(client: LLMClient, n: int) -> float:
    start = time.perf_counter()
    await asyncio.gather(
        *(client.complete([{"role": "user", "content": f"q{i}"}]) for i in range(n))
    )
    return time.perf_counter() - start


def test_concurrency_16_is_faster_than_1() -> None:
    """64 requests with 50 ms server latency: wall time at concurrency 1 vs 16."""
    with FakeOpenAIServer(lambda body: text_reply("ok"), latency_s=0.05) as srv:
        serial = LLMClient(_role(srv), concurrency=1)
        parallel = LLMClient(_role(srv), concurrency=16)
        asyncio.run(_burst(parallel, 2))  # warm LiteLLM up (first call imports lazily)
        t1 = asyncio.run(_burst(serial, 64))
        t16 = asyncio.run(_burst(parallel, 64))
    print(f"\n64 requests x 50 ms: concurrency 1 {t1:.2f} s, 16 {t16:.2f} s, ratio {t1 / t16:.1f}x")
    assert t16 < t1
    assert serial.limit.peak == 1
    assert 1 < parallel.limit.peak <= 16


def test_parse_tool_call_shapes() -> None:
    as_dict = {"id": "a", "function": {"name": "f", "arguments": {"x": 1}}}
    assert parse_tool_call(as_dict).arguments == {"x": 1}
    empty = parse_tool_call({"function": {"name": "f", "arguments": ""}}, index=3)
    assert (empty.id, empty.arguments, empty.raw_arguments) == ("call_3", {}, None)
    missing = parse_tool_call({"id": "b", "function": {"name": "f"}})
    assert missing.arguments == {} and missing.raw_arguments is None


def test_to_openai_messages_round_trip() -> None:
    messages = [
        Message(role="system", content="policy"),
        Message(
            role="assistant",
            tool_calls=[ToolCall(id="c1", name="f", arguments={"a": 1})],
        ),
        Message(role="tool", id="c1", content='{"ok": true}'),
    ]
    out = to_openai_messages(messages)
    assert out[1]["tool_calls"][0]["function"] == {"name": "f", "arguments": '{"a": 1}'}
    assert out[2] == {"role": "tool", "tool_call_id": "c1", "content": '{"ok": true}'}


def test_key_is_not_in_the_cache(server: FakeOpenAIServer, tmp_path: Path) -> None:
    server.script = [text_reply("x")]
    asyncio.run(LLMClient(_role(server), cache_dir=tmp_path).complete(ASK))
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert os.environ[KEY_ENV] not in path.read_text()
