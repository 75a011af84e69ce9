"""``python -m taskforge.llm.local_server``: llama-cpp-python's OpenAI server, taskforge's format.

llama-cpp-python's server (FastAPI + uvicorn) with one chat handler of taskforge's,
``taskforge-tools`` (:mod:`taskforge.llm.local_chat`): its own ``chatml-function-calling``
format drops tool results from the prompt and renders every tool's full JSON schema (3,000+
prompt tokens for Retail's tools). :class:`taskforge.llm.local.LocalServer` starts this module.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import time
import uuid
from collections.abc import Callable
from typing import Any, cast

from taskforge.llm.context_pool import ContextPool
from taskforge.llm.local_chat import (
    CALL_PREFIX,
    STOP,
    TEXT_MARK,
    forced_prefix,
    parse_reply,
    render_prompt,
)

HANDLER = "taskforge-tools"


def _json_grammar(response_format: dict[str, Any] | None) -> Any:
    """A grammar for a request that asks for JSON: its schema's (``json_schema``), else any
    JSON value (``json_object``, or a schema llama.cpp cannot turn into a grammar)."""
    if not response_format or response_format.get("type") not in ("json_object", "json_schema"):
        return None
    from llama_cpp.llama_grammar import JSON_GBNF, LlamaGrammar

    schema = response_format.get("schema") or (response_format.get("json_schema") or {}).get(
        "schema"
    )
    if schema:
        try:
            return LlamaGrammar.from_json_schema(json.dumps(schema), verbose=False)
        except Exception:  # an unsupported schema feature: any JSON rather than a failed call
            pass
    return LlamaGrammar.from_string(JSON_GBNF, verbose=False)


def _gbnf_literal(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _decision_grammar(names: list[str], allow_text: bool) -> Any:
    """The first words of a reply: a call of one offered tool, or (auto) a message."""
    from llama_cpp.llama_grammar import LlamaGrammar

    calls = " | ".join(_gbnf_literal(f'{CALL_PREFIX}{name}"') for name in names)
    root = "call | " + _gbnf_literal(TEXT_MARK) if allow_text else "call"
    return LlamaGrammar.from_string(f"root ::= {root}\ncall ::= {calls}\n", verbose=False)


def _arguments_grammar(tool: dict[str, Any]) -> Any:
    from llama_cpp.llama_grammar import JSON_GBNF, LlamaGrammar

    schema = (tool.get("function") or tool).get("parameters") or {"type": "object"}
    try:
        return LlamaGrammar.from_json_schema(json.dumps(schema), verbose=False)
    except Exception:  # a schema the converter cannot take: any JSON object
        return LlamaGrammar.from_string(JSON_GBNF, verbose=False)


class _Generation:
    """The completions of one chat turn, their text and token usage summed."""

    def __init__(self, llama: Any, prompt: str, **params: Any) -> None:
        self.llama, self.prompt, self.params = llama, prompt, params
        self.text, self.finish = "", "stop"
        self.usage = {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}

    def more(self, max_tokens: int, grammar: Any = None, stop: list[str] | None = None) -> str:
        out = self.llama.create_completion(
            self.prompt + self.text, max_tokens=max_tokens, grammar=grammar,
            stop=STOP if stop is None else stop, **self.params,
        )  # fmt: skip
        piece = str(out["choices"][0]["text"])
        self.text += piece
        self.finish = out["choices"][0].get("finish_reason") or "stop"
        used = out["usage"]
        self.usage["prompt_tokens"] = self.usage["prompt_tokens"] or int(used["prompt_tokens"])
        self.usage["completion_tokens"] += int(used["completion_tokens"])
        self.usage["total_tokens"] = self.usage["prompt_tokens"] + self.usage["completion_tokens"]
        return piece


def _tool_turn(
    gen: _Generation, tools: list[dict[str, Any]], tool_choice: Any, budget: int
) -> None:
    """Decide (a call or text), then write the call's arguments under its JSON schema."""
    by_name = {(t.get("function") or t)["name"]: t for t in tools}
    forced = forced_prefix(tool_choice)
    if forced.endswith('"arguments": '):
        gen.text = forced[: -len(', "arguments": ')]
    else:
        gen.more(24, _decision_grammar(list(by_name), allow_text=tool_choice != "required"))
    if gen.text.startswith(TEXT_MARK):
        gen.text = ""
        gen.more(budget)
        return
    name = gen.text[len(CALL_PREFIX) : -1]
    gen.text += ', "arguments": '
    gen.more(budget, _arguments_grammar(by_name.get(name, {})), stop=[])
    gen.text += "}"


def chat_handler(
    llama: Any,
    messages: list[dict[str, Any]],
    tools: list[dict[str, Any]] | None = None,
    tool_choice: Any = None,
    temperature: float = 0.2,
    top_p: float = 0.95,
    max_tokens: int | None = None,
    seed: int | None = None,
    response_format: dict[str, Any] | None = None,
    model: str | None = None,
    route: Callable[[str], Any] | None = None,
    **_: Any,
) -> dict[str, Any]:
    """One chat completion in taskforge's format (see :mod:`taskforge.llm.local_chat`).

    ``route`` picks the context that evaluates the prompt (default: ``llama``).
    """
    offered = tools if tools and tool_choice != "none" else None
    prompt = render_prompt(messages, offered)
    target = route(prompt) if route is not None else llama
    gen = _Generation(target, prompt, temperature=temperature, top_p=top_p, seed=seed)
    budget = max_tokens or 256
    if offered:
        _tool_turn(gen, offered, tool_choice or "auto", budget)
    else:
        gen.more(budget, _json_grammar(response_format))
    name = f"chatcmpl-{uuid.uuid4().hex[:24]}"
    content, calls = parse_reply(gen.text, f"call_{name[-12:]}") if offered else (gen.text, [])
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if calls:
        message["tool_calls"] = calls
    return {
        "id": name, "object": "chat.completion", "created": int(time.time()),
        "model": model or "",
        "choices": [{"index": 0, "message": message, "logprobs": None,
                     "finish_reason": "tool_calls" if calls else gen.finish}],
        "usage": gen.usage,
    }  # fmt: skip


def pooled_handler(
    size: int, factory: Callable[[Any], Any] | None = None
) -> Callable[..., dict[str, Any]]:
    """:func:`chat_handler` over a :class:`ContextPool` of ``size`` contexts per model
    (``factory``: how the pool makes a context, default a sibling ``Llama``)."""
    pools: dict[int, ContextPool] = {}

    def handler(llama: Any, messages: list[dict[str, Any]], **kwargs: Any) -> dict[str, Any]:
        if id(llama) not in pools:
            pools[id(llama)] = ContextPool(llama, size, factory)
        return chat_handler(llama, messages, route=pools[id(llama)].pick, **kwargs)

    return handler


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m taskforge.llm.local_server")
    parser.add_argument("--model", required=True, help="GGUF file.")
    parser.add_argument("--alias", required=True, help="Model name the server answers to.")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--n-ctx", type=int, default=8192)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--contexts", type=int, default=4, help="llama.cpp contexts, one per prompt stream."
    )
    parser.add_argument(
        "--prompt-cache", choices=("contexts", "ram"), default="contexts",
        help="contexts: a pool of --contexts contexts; ram: llama-cpp-python's RAM cache on "
        "one context (saves and loads the whole state per call; the bench's baseline).",
    )  # fmt: skip
    return parser


def main(argv: list[str] | None = None) -> None:
    """Register the chat handler and serve on 127.0.0.1 until stopped."""
    import uvicorn
    from llama_cpp.llama_chat_format import LlamaChatCompletionHandlerRegistry
    from llama_cpp.server.app import create_app
    from llama_cpp.server.settings import ModelSettings, ServerSettings

    args = _parser().parse_args(argv)
    ram = args.prompt_cache == "ram"
    LlamaChatCompletionHandlerRegistry().register_chat_completion_handler(
        HANDLER, cast(Any, chat_handler if ram else pooled_handler(args.contexts)), overwrite=True
    )
    model = ModelSettings(
        model=args.model, model_alias=args.alias, chat_format=HANDLER, n_ctx=args.n_ctx,
        n_threads=args.threads, n_threads_batch=args.threads, seed=args.seed,
        cache=ram, cache_type="ram", cache_size=1 << 30, verbose=False,
    )  # fmt: skip
    server = ServerSettings(host="127.0.0.1", port=args.port)
    app = create_app(server_settings=server, model_settings=[model])
    uvicorn.run(accept_json_schema(app), host="127.0.0.1", port=args.port, log_level="warning")


def openai_response_format(body: dict[str, Any]) -> dict[str, Any]:
    """OpenAI's ``{"type": "json_schema", "json_schema": {"schema": S}}`` as llama-cpp-python's
    ``{"type": "json_object", "schema": S}`` (its request model rejects the former)."""
    fmt = body.get("response_format")
    if isinstance(fmt, dict) and fmt.get("type") == "json_schema":
        schema = (fmt.get("json_schema") or {}).get("schema")
        body = {**body, "response_format": {"type": "json_object", "schema": schema}}
    return body


def accept_json_schema(app: Any) -> Any:
    """An ASGI wrapper that rewrites chat requests with :func:`openai_response_format`."""

    async def wrapped(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope.get("type") != "http" or not scope.get("path", "").endswith("chat/completions"):
            await app(scope, receive, send)
            return
        chunks = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        raw = b"".join(chunks)
        with contextlib.suppress(ValueError, TypeError):  # not JSON: the server answers it
            raw = json.dumps(openai_response_format(json.loads(raw))).encode()
        headers = [(k, v) for k, v in scope.get("headers", []) if k != b"content-length"]
        headers.append((b"content-length", str(len(raw)).encode()))
        sent = False

        async def replay() -> dict[str, Any]:
            nonlocal sent
            if sent:
                return await receive()
            sent = True
            return {"type": "http.request", "body": raw, "more_body": False}

        await app({**scope, "headers": headers}, replay, send)

    return wrapped


if __name__ == "__main__":
    main()
