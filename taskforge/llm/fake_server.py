"""A small OpenAI chat-completions server on 127.0.0.1 that answers from a script.

Benchmarks and tests point LiteLLM at it (model ``openai/<anything>``, ``api_base=server.url``,
any key) so that online runs take the real HTTP path with no network: a fixed-latency stand-in
for a vLLM endpoint (``taskforge bench scale``). It is a named simulation, never a model. The
server answers ``POST /v1/chat/completions`` (and ``/chat/completions``) from a *script*:

* a list of assistant messages (dicts as OpenAI returns them, ``tool_calls`` included),
  consumed in order; when the list runs out the server answers 500;
* or a callable ``script(request_body) -> assistant message`` (thread-safe, please: requests
  are served concurrently), such as :func:`short_episode_script`.

Helpers build the messages: :func:`text_reply`, :func:`tool_call_reply` (whose ``arguments``
may be a dict or a raw string such as ``"{not json"`` to exercise the malformed-call path).

Knobs: ``latency_s`` sleeps in every request (requests overlap, one thread each, so a client
with more concurrency finishes sooner); :meth:`FakeOpenAIServer.fail_next` queues error
answers (e.g. one ``429``) served before the script resumes. Every request body is recorded in
``server.requests`` (its headers in ``server.request_headers``, lower-cased) and the error
statuses served in ``server.errors_served``.

Usage::

    with FakeOpenAIServer([tool_call_reply("get_user", {"id": 1}), text_reply("done")]) as srv:
        litellm.completion(model="openai/fake", api_base=srv.url, api_key="x", messages=...)
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Script = Sequence[dict[str, Any]] | Callable[[dict[str, Any]], dict[str, Any]]

USER_STOP = "###STOP###"
"""What the user simulator says to end an episode (tau2's stop token)."""


def text_reply(text: str) -> dict[str, Any]:
    """An assistant message with text content only."""
    return {"role": "assistant", "content": text}


def tool_call_reply(
    name: str, arguments: dict[str, Any] | str, call_id: str | None = None
) -> dict[str, Any]:
    """An assistant message with one tool call; a str ``arguments`` is sent verbatim."""
    raw = arguments if isinstance(arguments, str) else json.dumps(arguments)
    return {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": call_id or f"call_{name}",
                "type": "function",
                "function": {"name": name, "arguments": raw},
            }
        ],
    }


class FakeOpenAIServer:
    """OpenAI-compatible chat-completions server in a background thread.

    Args:
        script: Assistant messages in order, or a callable answering each request body.
        latency_s: Seconds every request sleeps before it is answered.
        model: Model name reported in the answers.
    """

    def __init__(
        self, script: Script | None = None, *, latency_s: float = 0.0, model: str = "fake"
    ) -> None:
        self.script: Script = script if script is not None else [text_reply("ok")]
        self.latency_s = latency_s
        self.model = model
        self.requests: list[dict[str, Any]] = []
        self.request_headers: list[dict[str, str]] = []
        self.errors_served: list[int] = []
        self._pending_errors: deque[tuple[int, dict[str, str]]] = deque()
        self._lock = threading.Lock()
        self._cursor = 0
        self._ids = itertools.count()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> FakeOpenAIServer:
        """Bind a free port on 127.0.0.1 and serve in a daemon thread."""
        handler = type("Handler", (_Handler,), {"server_state": self})
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._httpd.daemon_threads = True
        self._httpd.request_queue_size = 256
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> FakeOpenAIServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """Base URL to give as ``api_base`` (ends in ``/v1``)."""
        assert self._httpd is not None, "server not started"
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    # -- scripting -------------------------------------------------------------------------
    def fail_next(
        self, status: int = 429, count: int = 1, retry_after: float | None = None
    ) -> None:
        """Answer the next ``count`` requests with HTTP ``status`` (e.g. 429 rate limit)."""
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
        with self._lock:
            self._pending_errors.extend([(status, headers)] * count)

    def _next(self, body: dict[str, Any]) -> tuple[int, dict[str, Any], dict[str, str]]:
        """Status, JSON answer and headers for one request (called from handler threads)."""
        with self._lock:
            self.requests.append(body)
            if self._pending_errors:
                status, headers = self._pending_errors.popleft()
                self.errors_served.append(status)
                return status, _error_body(status), headers
            if callable(self.script):
                message = None
            elif self._cursor < len(self.script):
                message = self.script[self._cursor]
                self._cursor += 1
            else:
                return 500, _error_body(500, "script exhausted"), {}
            index = next(self._ids)
        if message is None:
            assert callable(self.script)
            message = self.script(body)
        return 200, self._completion(message, body, index), {}

    def _completion(self, message: dict[str, Any], body: dict[str, Any], index: int) -> dict:
        prompt_tokens = max(1, len(json.dumps(body.get("messages", []))) // 4)
        completion_tokens = max(1, len(json.dumps(message)) // 4)
        return {
            "id": f"chatcmpl-fake-{index}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": self.model,
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "finish_reason": "tool_calls" if message.get("tool_calls") else "stop",
                }
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }


def _error_body(status: int, message: str | None = None) -> dict[str, Any]:
    kinds = {429: "rate_limit_exceeded", 500: "server_error", 503: "service_unavailable"}
    return {
        "error": {
            "message": message or f"fake server error {status}",
            "type": kinds.get(status, "invalid_request_error"),
            "code": kinds.get(status, str(status)),
        }
    }


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # else headers and body wait on delayed ACKs (~40 ms)
    server_state: FakeOpenAIServer

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b"{}"
        if not self.path.rstrip("/").endswith("/chat/completions"):
            self._send(404, _error_body(404, f"no route {self.path}"), {})
            return
        try:
            body = json.loads(raw)
        except json.JSONDecodeError:
            self._send(400, _error_body(400, "request body is not JSON"), {})
            return
        state = self.server_state
        with state._lock:
            state.request_headers.append({k.lower(): v for k, v in self.headers.items()})
        if state.latency_s:
            time.sleep(state.latency_s)
        try:
            status, answer, headers = state._next(body)
        except Exception as exc:  # a broken script answers 500 instead of hanging the client
            status, answer, headers = 500, _error_body(500, f"script failed: {exc!r}"), {}
        self._send(status, answer, headers)

    def _send(self, status: int, answer: dict[str, Any], headers: dict[str, str]) -> None:
        data = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for key, value in headers.items():
            self.send_header(key, value)
        try:
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout tests)
            self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output quiet."""


def short_episode_script(body: dict[str, Any]) -> dict[str, Any]:
    """A four-call episode in any domain: the user greets, the agent calls one tool that needs
    no argument (the first one the request offers, if any), answers, and the user stops."""
    messages = body.get("messages", [])
    if "tools" not in body:  # the user simulator
        heard = sum(m.get("role") == "user" and bool(m.get("content")) for m in messages)
        return text_reply(USER_STOP if heard >= 2 else "Hello, what do you sell?")  # greeting
    if any(m.get("role") == "tool" for m in messages):
        return text_reply("Here is what I found.")
    free = [t["function"]["name"] for t in body["tools"] if _needs_no_argument(t)]
    return tool_call_reply(free[0], {}, "c0") if free else text_reply("How can I help?")


def _needs_no_argument(tool: dict[str, Any]) -> bool:
    """True for a function tool whose schema requires no argument."""
    return not tool.get("function", {}).get("parameters", {}).get("required")
