"""An async LLM client over LiteLLM: one role, bounded concurrency, retries, timeout, cache.

:class:`LLMClient` wraps ``litellm.acompletion`` for one :class:`~taskforge.llm.config.RoleConfig`:

* **Concurrency.** At most ``concurrency`` calls are in flight; pass one
  :class:`ConcurrencyLimit` to several clients to share the bound (:func:`make_clients` does).
  The slot is held only while a request runs, not while a retry waits.
* **Retries.** Rate limits, timeouts, connection errors, 500 and 503 are retried
  ``max_retries`` times with exponential backoff and full jitter (``backoff_base_s * 2**n``,
  capped at ``backoff_max_s``, at least the server's ``Retry-After``). LiteLLM's and the
  OpenAI SDK's own retries are switched off so that only this loop retries. Other errors
  (bad request, authentication, unknown model) are not retried.
* **Parameters.** temperature, max_tokens, the call's seed and the role's ``extra`` go to
  ``litellm.acompletion`` with ``drop_params=True``, so a provider without e.g. ``seed`` gets
  the call without it instead of an error. Unknown ``extra`` keys are sent in the request body
  of OpenAI-compatible servers, and reach offline providers as ``params``.
* **Timeout.** Every attempt is bounded by ``timeout_s`` (given to LiteLLM and enforced
  around the call, so offline providers are bounded too). When every attempt failed the client
  raises :class:`LLMTimeoutError` or :class:`LLMError`, one line naming role and model.
* **Cache.** With a ``cache_dir``, completions are kept one JSON file per key, the key being
  the sha256 of the canonical JSON of model, api_base, messages, tools and parameters (seed,
  temperature, max_tokens, the role's ``extra``). A hit does not call the model. Offline
  models (``taskforge/...``) are never cached: their answers depend on the episode context,
  which is not in the key. Sampling (temperature > 0) with no seed is not cached either, so
  that k trials do not share one sample: pass ``seed`` to make sampled calls cacheable.
* **Normalisation.** The answer becomes a :class:`taskforge.contracts.Message` (role
  assistant) whose tool calls are :class:`~taskforge.contracts.ToolCall` objects with
  ``arguments`` decoded from the provider's JSON string. Arguments that are not a JSON object
  give ``arguments={}`` and ``raw_arguments=<the string>``: the environment then answers the
  call with an error turn; nothing crashes.
* **Accounting.** Every :class:`Completion` has token usage and cost
  (``litellm.completion_cost`` when the model is priced, else 0.0); a :class:`UsageMeter`
  passed to :meth:`LLMClient.complete` accumulates them per trajectory, and ``client.meter``
  accumulates them for the client's lifetime.

The API key is read from the environment variable named by ``api_key_env`` at call time.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import random
import time
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from taskforge.contracts import Message, ToolCall
from taskforge.errors import TaskforgeError
from taskforge.llm.config import ROLES, LLMConfig, RoleConfig
from taskforge.llm.offline import EPISODE_KEY, EXTRA_PREFIX, load_litellm

CACHE_FORMAT = 1
"""Version of the cache entries; part of every key."""

_RETRYABLE = (
    "RateLimitError",
    "Timeout",
    "APIConnectionError",
    "ServiceUnavailableError",
    "InternalServerError",
)


class LLMError(TaskforgeError):
    """An LLM call that failed for good (after the retries it was allowed)."""


class LLMTimeoutError(LLMError):
    """An LLM call that did not answer within its timeout, on every attempt."""


@dataclass
class TokenUsage:
    """Tokens of one completion."""

    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        """Prompt plus completion tokens."""
        return self.prompt_tokens + self.completion_tokens


@dataclass
class Completion:
    """One normalised completion.

    Attributes:
        message: The assistant message, tool calls normalised into ``ToolCall``.
        usage: Token usage reported (or, offline, estimated) for the call.
        cost: Cost in USD of generating it (0.0 when the model has no known price).
        cached: True when it came from the disk cache (no model was called).
        extras: ``taskforge_*`` keys an offline provider returned (e.g. error modes).
        model: The model that answered, as the provider reports it.
        latency_s: Seconds the call took (0.0 for a cache hit).
        attempts: Attempts made (1 when no retry was needed, 0 for a cache hit).
    """

    message: Message
    usage: TokenUsage
    cost: float = 0.0
    cached: bool = False
    extras: dict[str, Any] = field(default_factory=dict)
    model: str = ""
    latency_s: float = 0.0
    attempts: int = 1


@dataclass
class UsageMeter:
    """Token and cost totals of a set of calls (e.g. one trajectory, or one client).

    ``cost_usd`` is what was spent; a cache hit adds its tokens but its original cost goes to
    ``saved_usd`` instead.
    """

    calls: int = 0
    cache_hits: int = 0
    retries: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    saved_usd: float = 0.0

    def add(self, completion: Completion) -> None:
        """Count one completion."""
        self.calls += 1
        self.cache_hits += completion.cached
        self.retries += max(0, completion.attempts - 1)
        self.prompt_tokens += completion.usage.prompt_tokens
        self.completion_tokens += completion.usage.completion_tokens
        if completion.cached:
            self.saved_usd += completion.cost
        else:
            self.cost_usd += completion.cost

    def as_dict(self) -> dict[str, Any]:
        """The totals as plain data."""
        return {
            "calls": self.calls,
            "cache_hits": self.cache_hits,
            "retries": self.retries,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "cost_usd": self.cost_usd,
            "saved_usd": self.saved_usd,
        }


class ConcurrencyLimit:
    """At most ``size`` holders at once, usable from any event loop (one semaphore per loop).

    Attributes:
        size: The bound.
        in_flight: Current holders.
        peak: Most holders seen at once.
    """

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError("concurrency must be at least 1")
        self.size = size
        self.in_flight = 0
        self.peak = 0
        self._semaphores: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore]
        self._semaphores = weakref.WeakKeyDictionary()

    def _semaphore(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        semaphore = self._semaphores.get(loop)
        if semaphore is None:
            semaphore = self._semaphores[loop] = asyncio.Semaphore(self.size)
        return semaphore

    async def __aenter__(self) -> ConcurrencyLimit:
        await self._semaphore().acquire()
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.in_flight -= 1
        self._semaphore().release()


class CompletionCache:
    """Completions on disk, one JSON file per key under ``root/<key[:2]>/<key>.json``."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    @staticmethod
    def key(payload: dict[str, Any]) -> str:
        """sha256 of the canonical JSON of a request."""
        text = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256(text.encode()).hexdigest()

    def _path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.json"

    def get(self, key: str) -> dict[str, Any] | None:
        """The stored entry, or None (a corrupt entry counts as a miss)."""
        try:
            data = json.loads(self._path(key).read_text(encoding="utf-8"))
        except (FileNotFoundError, json.JSONDecodeError, UnicodeDecodeError):
            return None
        return data if isinstance(data, dict) else None

    def put(self, key: str, entry: dict[str, Any]) -> None:
        """Store an entry atomically (write to a temporary file, then rename)."""
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.{random.getrandbits(32):08x}.tmp")
        tmp.write_text(json.dumps(entry, ensure_ascii=False), encoding="utf-8")
        os.replace(tmp, path)


# -- normalisation -----------------------------------------------------------------------------
def _get(obj: Any, name: str, default: Any = None) -> Any:
    """Attribute or key ``name`` of a LiteLLM object or a plain dict."""
    if isinstance(obj, dict):
        return obj.get(name, default)
    return getattr(obj, name, default)


def parse_tool_call(raw: Any, index: int = 0) -> ToolCall:
    """One provider tool call (OpenAI shape, object or dict) as a ``ToolCall``.

    Arguments that are not a JSON object are kept verbatim in ``raw_arguments`` with empty
    ``arguments``; a provider that already gives a dict is taken as it is.
    """
    function = _get(raw, "function") or {}
    name = _get(function, "name") or ""
    arguments = _get(function, "arguments")
    call_id = _get(raw, "id") or f"call_{index}"
    if isinstance(arguments, dict):
        return ToolCall(id=call_id, name=name, arguments=arguments)
    text = "" if arguments is None else str(arguments)
    try:
        decoded = json.loads(text) if text.strip() else {}
    except json.JSONDecodeError:
        decoded = None
    if isinstance(decoded, dict):
        return ToolCall(id=call_id, name=name, arguments=decoded)
    return ToolCall(id=call_id, name=name, arguments={}, raw_arguments=text)


def normalise_message(raw: Any) -> tuple[Message, dict[str, Any]]:
    """A provider's assistant message as a ``Message``, plus its ``taskforge_*`` extras."""
    calls = [parse_tool_call(call, i) for i, call in enumerate(_get(raw, "tool_calls") or [])]
    content = _get(raw, "content")
    if isinstance(content, list):  # content parts: keep the text ones
        content = "".join(str(_get(part, "text") or "") for part in content)
    reasoning = _get(raw, "reasoning_content")
    specific = _get(raw, "provider_specific_fields") or {}
    extras = {k: v for k, v in specific.items() if k.startswith(EXTRA_PREFIX)}
    message = Message(
        role="assistant",
        content=content,
        tool_calls=calls or None,
        reasoning=reasoning or None,
    )
    return message, extras


def to_openai_messages(messages: list[Message]) -> list[dict[str, Any]]:
    """taskforge messages as OpenAI chat messages (a malformed call keeps its raw string)."""
    out: list[dict[str, Any]] = []
    for message in messages:
        if message.role == "tool":
            out.append(
                {"role": "tool", "tool_call_id": message.id, "content": message.content or ""}
            )
            continue
        item: dict[str, Any] = {"role": message.role, "content": message.content}
        if message.tool_calls:
            item["tool_calls"] = [
                {
                    "id": call.id,
                    "type": "function",
                    "function": {
                        "name": call.name,
                        "arguments": call.raw_arguments
                        if call.raw_arguments is not None
                        else json.dumps(call.arguments),
                    },
                }
                for call in message.tool_calls
            ]
        out.append(item)
    return out


# -- the client --------------------------------------------------------------------------------
class LLMClient:
    """Completions of one LLM role through LiteLLM (see the module docstring).

    Args:
        role: The role's model and parameters.
        cache_dir: Directory of the disk cache; None for no cache.
        concurrency: Most calls in flight, or a :class:`ConcurrencyLimit` shared with others.
        name: Role name used in error messages.
        use_cache: False disables the cache even with a ``cache_dir`` (``--no-cache``).
    """

    def __init__(
        self,
        role: RoleConfig,
        cache_dir: Path | None = None,
        concurrency: int | ConcurrencyLimit = 8,
        *,
        name: str | None = None,
        use_cache: bool = True,
    ) -> None:
        self.role = role
        self.name = name or role.model
        self.limit = (
            concurrency
            if isinstance(concurrency, ConcurrencyLimit)
            else ConcurrencyLimit(concurrency)
        )
        self.cache = CompletionCache(cache_dir) if cache_dir is not None and use_cache else None
        self.meter = UsageMeter()

    def _label(self) -> str:
        return self.name if self.name == self.role.model else f"{self.name} ({self.role.model})"

    def _cacheable(self, seed: int | None) -> bool:
        if self.cache is None or not self.role.cache or self.role.is_offline:
            return False
        sampling = self.role.temperature is None or self.role.temperature > 0
        return seed is not None or not sampling

    def _params(self, seed: int | None) -> dict[str, Any]:
        params: dict[str, Any] = dict(self.role.extra)
        for key, value in (
            ("temperature", self.role.temperature),
            ("max_tokens", self.role.max_tokens),
            ("seed", seed),
        ):
            if value is not None:
                params[key] = value
        return params

    def _api_key(self) -> str | None:
        env = self.role.api_key_env
        if env is None:
            return None
        key = os.environ.get(env)
        if not key:
            raise LLMError(
                f"{self._label()}: environment variable {env} (its api_key_env) is not set"
            )
        return key

    async def complete(
        self,
        messages: list[dict[str, Any]],
        tools: list[dict[str, Any]] | None = None,
        seed: int | None = None,
        metadata: dict[str, Any] | None = None,
        meter: UsageMeter | None = None,
    ) -> Completion:
        """One assistant turn for ``messages`` (OpenAI chat format), offering ``tools``.

        Args:
            messages: The conversation, OpenAI chat messages.
            tools: OpenAI function tool schemas, if the model may call tools.
            seed: Sampling seed (part of the cache key).
            metadata: Passed to LiteLLM; ``taskforge_episode`` selects an offline episode.
            meter: Accumulates this call's usage and cost (e.g. one per trajectory).

        Raises:
            LLMTimeoutError: every attempt timed out.
            LLMError: the call failed for good, or the key's environment variable is unset.
        """
        params = self._params(seed)
        key = None
        if self._cacheable(seed):
            key = CompletionCache.key(self._cache_payload(messages, tools, params))
            completion = self._from_cache(key)
            if completion is not None:
                return self._count(completion, meter)
        completion = await self._call_with_retries(messages, tools, params, metadata)
        if key is not None and self.cache is not None:
            self.cache.put(key, self._cache_entry(completion))
        return self._count(completion, meter)

    def _count(self, completion: Completion, meter: UsageMeter | None) -> Completion:
        self.meter.add(completion)
        if meter is not None:
            meter.add(completion)
        return completion

    def _cache_payload(
        self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None, params: dict
    ) -> dict[str, Any]:
        payload = {
            "v": CACHE_FORMAT,
            "model": self.role.model,
            "api_base": self.role.api_base,
            "messages": messages,
            "tools": tools,
            "params": params,
        }
        if tools and self.role.tool_choice is not None:
            payload["tool_choice"] = self.role.tool_choice
        return payload

    @staticmethod
    def _cache_entry(completion: Completion) -> dict[str, Any]:
        return {
            "message": completion.message.model_dump(mode="json", exclude_none=True),
            "usage": {
                "prompt_tokens": completion.usage.prompt_tokens,
                "completion_tokens": completion.usage.completion_tokens,
            },
            "cost": completion.cost,
            "extras": completion.extras,
            "model": completion.model,
        }

    def _from_cache(self, key: str) -> Completion | None:
        assert self.cache is not None
        entry = self.cache.get(key)
        if entry is None:
            return None
        try:
            return Completion(
                message=Message.model_validate(entry["message"]),
                usage=TokenUsage(**entry["usage"]),
                cost=float(entry.get("cost") or 0.0),
                cached=True,
                extras=dict(entry.get("extras") or {}),
                model=str(entry.get("model") or self.role.model),
                attempts=0,
            )
        except (KeyError, TypeError, ValueError):
            return None  # an entry of another format: call the model again

    async def _call_with_retries(
        self,
        messages: list[dict[str, Any]],
        tools: list[dict[str, Any]] | None,
        params: dict[str, Any],
        metadata: dict[str, Any] | None,
    ) -> Completion:
        litellm = load_litellm()
        kwargs = self._request(messages, tools, params, metadata)
        attempts = self.role.max_retries + 1
        for attempt in range(1, attempts + 1):
            start = time.perf_counter()
            try:
                async with self.limit:
                    response = await asyncio.wait_for(
                        litellm.acompletion(**kwargs), timeout=self.role.timeout_s
                    )
            except Exception as exc:
                retryable = _is_retryable(exc)
                if not retryable or attempt == attempts:
                    raise self._failure(exc, attempt) from exc
                await asyncio.sleep(self._backoff(attempt, exc))
                continue
            return self._completion(litellm, response, time.perf_counter() - start, attempt)
        raise AssertionError("unreachable")  # pragma: no cover

    def _request(
        self,
        messages: list[dict[str, Any]],
        tools: list[dict[str, Any]] | None,
        params: dict[str, Any],
        metadata: dict[str, Any] | None,
    ) -> dict[str, Any]:
        kwargs: dict[str, Any] = {
            "model": self.role.model,
            "messages": messages,
            "timeout": self.role.timeout_s,
            "num_retries": 0,
            "max_retries": 0,
            "drop_params": True,  # e.g. seed for providers without one; extra may override
            **params,
        }
        if tools:
            kwargs["tools"] = tools
            if self.role.tool_choice is not None:
                kwargs["tool_choice"] = self.role.tool_choice
        if metadata:
            kwargs["metadata"] = dict(metadata)
        if self.role.api_base is not None:
            kwargs["api_base"] = self.role.api_base
        api_key = self._api_key()
        if api_key is not None:
            kwargs["api_key"] = api_key
        return kwargs

    def _backoff(self, attempt: int, exc: BaseException) -> float:
        """Full-jitter exponential backoff, at least the server's Retry-After, capped."""
        ceiling = min(self.role.backoff_max_s, self.role.backoff_base_s * 2 ** (attempt - 1))
        delay = random.uniform(0, ceiling)
        retry_after = _retry_after(exc)
        if retry_after is not None:
            delay = max(delay, retry_after)
        return min(delay, self.role.backoff_max_s)

    def _failure(self, exc: BaseException, attempt: int) -> LLMError:
        tries = f"after {attempt} attempt{'s' if attempt > 1 else ''}"
        if isinstance(exc, LLMError):
            return exc
        if isinstance(exc, asyncio.TimeoutError) or type(exc).__name__ == "Timeout":
            return LLMTimeoutError(
                f"{self._label()}: no answer within {self.role.timeout_s:g} s ({tries})"
            )
        text = " ".join(str(exc).split())[:500]
        return LLMError(f"{self._label()}: {type(exc).__name__} {tries}: {text}")

    def _completion(self, litellm: Any, response: Any, latency: float, attempt: int) -> Completion:
        choices = _get(response, "choices") or []
        if not choices:
            raise LLMError(f"{self._label()}: the response has no choices")
        message, extras = normalise_message(_get(choices[0], "message"))
        hidden = getattr(response, "_hidden_params", None) or {}
        extras = {**(hidden.get("taskforge_extras") or {}), **extras}
        raw_usage = _get(response, "usage")
        usage = TokenUsage(
            prompt_tokens=int(_get(raw_usage, "prompt_tokens") or 0),
            completion_tokens=int(_get(raw_usage, "completion_tokens") or 0),
        )
        cost = _cost(litellm, response)
        message = message.model_copy(
            update={
                "usage": {
                    "prompt_tokens": usage.prompt_tokens,
                    "completion_tokens": usage.completion_tokens,
                },
                "cost": cost,
                "generation_time_seconds": round(latency, 6),
            }
        )
        model = str(_get(response, "model") or self.role.model)
        return Completion(message, usage, cost, False, extras, model, latency, attempt)


def _is_retryable(exc: BaseException) -> bool:
    if isinstance(exc, asyncio.TimeoutError):
        return True
    return any(cls.__name__ in _RETRYABLE for cls in type(exc).__mro__)


def _retry_after(exc: BaseException) -> float | None:
    """The Retry-After header (seconds) of an HTTP error, if it has one.

    LiteLLM 1.106.2 keeps the provider's headers in ``litellm_response_headers``; its
    ``exc.response`` is a stand-in without them.
    """
    headers = getattr(exc, "litellm_response_headers", None)
    if headers is None:
        headers = getattr(getattr(exc, "response", None), "headers", None)
    if headers is None:
        return None
    try:
        value = headers.get("retry-after")
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _cost(litellm: Any, response: Any) -> float:
    """USD cost of a response: LiteLLM's price table when the model is in it, else 0.0."""
    hidden = getattr(response, "_hidden_params", None) or {}
    if "response_cost" in hidden:  # LiteLLM priced it already (None: not in its price table)
        return float(hidden["response_cost"] or 0.0)
    try:
        return float(litellm.completion_cost(completion_response=response) or 0.0)
    except Exception:  # unpriced model (self-hosted, offline): no known cost
        return 0.0


def make_clients(
    config: LLMConfig, *, use_cache: bool = True, roles: tuple[str, ...] | None = None
) -> dict[str, LLMClient]:
    """One client per role sharing one :class:`ConcurrencyLimit` of ``config.concurrency``."""
    limit = ConcurrencyLimit(config.concurrency)
    names = roles or ROLES
    return {
        name: LLMClient(config.role(name), config.cache_dir, limit, name=name, use_cache=use_cache)
        for name in names
    }


def episode_metadata(episode_id: str, **more: Any) -> dict[str, Any]:
    """``metadata`` for :meth:`LLMClient.complete` selecting an offline episode's context."""
    return {EPISODE_KEY: episode_id, **more}
