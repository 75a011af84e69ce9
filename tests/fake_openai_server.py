"""The fake OpenAI-compatible server for tests: :mod:`taskforge.llm.fake_server`, plus
:func:`fake_role`, which builds an LLM-config role on it (the key's variable set by pytest).

Usage::

    with FakeOpenAIServer([tool_call_reply("get_user", {"id": 1}), text_reply("done")]) as srv:
        litellm.completion(model="openai/fake", api_base=srv.url, api_key="x", messages=...)
"""

from __future__ import annotations

from typing import Any

from taskforge.llm.fake_server import FakeOpenAIServer, Script, text_reply, tool_call_reply

KEY_ENV = "FAKE_SERVER_KEY"
"""Environment variable naming the (fake) key of a role on the fake server."""


def fake_role(url: str, monkeypatch: Any, model: str, **extra: Any) -> dict[str, Any]:
    """An LLM-config role on the fake server at ``url`` (sets the key's variable)."""
    monkeypatch.setenv(KEY_ENV, "not-a-real-key")
    return {"model": model, "api_base": url, "api_key_env": KEY_ENV, **extra}


__all__ = ["KEY_ENV", "FakeOpenAIServer", "Script", "fake_role", "text_reply", "tool_call_reply"]
