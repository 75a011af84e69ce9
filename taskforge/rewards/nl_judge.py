"""tau2's NL-assertion check with an LLM judge: one short verdict per assertion.

tau2 scores a task's ``nl_assertions`` (e.g. "Agent should provide the tracking number") by
asking an LLM whether each one is met by the dialogue; the ``NL_ASSERTION`` component is 1.0
when all are met. :class:`LLMNLJudge` implements the evaluator's
:class:`~taskforge.env.evaluator.NLJudge` protocol that way, over the config's ``judge`` role:

* **The prompt** (``prompts/nl_judge.md``, the project's own words) shows the dialogue as plain
  text turns (user and agent text, tool calls and shortened tool results) and one assertion,
  and asks for YES or NO as the first word, then a short reason. One call per assertion keeps
  the task small enough for a 135M model.
* **Parsing** is lenient: a JSON object with ``met`` (or ``metExpectation``), else the first
  word (YES/NO/TRUE/FALSE/MET, after markup and an optional ``Verdict:``/``Answer:`` label).
  Anything else is recorded honestly as ``met=False`` with the justification
  ``unparseable judge output: <first 200 chars>``, and counted; a call that fails for good is
  recorded as ``met=False`` with ``judge call failed: ...``, counted, and not remembered.
* **Caching**: in memory per (assertion, hash of the rendered dialogue, model), on top of the
  LLM client's disk cache (calls carry a seed, so they are cacheable at any temperature).
* **Sync over async**: :meth:`LLMNLJudge.judge` is synchronous (the evaluator is), but is called
  from inside running event loops (rollout episodes): there it runs the calls on an event loop
  of its own in a worker thread; with no running loop it uses ``asyncio.run``.

:func:`nl_judge_from_config` builds one from an LLM config, or returns None when the judge role
is an offline model (the diagnostic judge cannot read natural language): NL assertions then
stay skipped, as with no judge.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import threading
from collections.abc import Coroutine, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from string import Template
from typing import Any, TypeVar

from taskforge.contracts import Message, NLAssertionCheck, Task
from taskforge.llm.client import LLMClient, LLMError
from taskforge.llm.config import LLMConfig, load_llm_config
from taskforge.mining.judge import json_object

NL_JUDGE_VERSION = "nl-judge-v1"
"""Version of the prompt and parser (bump it when either changes)."""
PROMPT_PATH = Path(__file__).resolve().parent / "prompts" / "nl_judge.md"
MAX_TOOL_CHARS = 200
"""Tool results longer than this are shortened in the prompt."""
MAX_TURN_CHARS = 1500
"""User and agent texts longer than this are shortened in the prompt."""
MAX_DIALOGUE_CHARS = 16000
"""Longer dialogues keep their first and last turns, the middle ones are left out."""
UNPARSEABLE = "unparseable judge output: "
"""Prefix of the justification of a verdict that could not be read (met is then False)."""
CALL_FAILED = "judge call failed: "
"""Prefix of the justification when the judge model could not be called (met is False)."""

_YES = frozenset({"yes", "true", "met", "y"})
_NO = frozenset({"no", "false", "n", "unmet"})
_LABELS = frozenset({"verdict", "answer", "result", "output", "response"})
_WORD = re.compile(r"[A-Za-z]+")
_THINK = re.compile(r"<think>.*?</think>", re.DOTALL | re.IGNORECASE)
T = TypeVar("T")


@dataclass
class NLJudgeStats:
    """Counters of one judge.

    Attributes:
        calls: Requests sent to the LLM client (its disk-cache hits included).
        memory_hits: Verdicts answered from the in-memory cache (no request).
        unparseable: Answers that could not be read as a verdict (recorded as not met).
        errors: Calls that failed for good (recorded as not met, not remembered).
    """

    calls: int = 0
    memory_hits: int = 0
    unparseable: int = 0
    errors: int = 0

    def as_dict(self) -> dict[str, int]:
        """The counters as plain data."""
        return asdict(self)


# -- rendering ---------------------------------------------------------------------------------
def _shorten(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + " [...]"


def _turn_lines(message: Message) -> list[str]:
    """The plain-text lines of one message (none for system turns and empty ones)."""
    if message.role == "system":
        return []
    if message.role == "tool":
        label = "tool error" if message.error else "tool result"
        return [f"{label}: {_shorten(message.content or '', MAX_TOOL_CHARS)}"]
    speaker = "agent" if message.role == "assistant" else "user"
    lines = []
    if message.content and message.content.strip():
        lines.append(f"{speaker}: {_shorten(message.content, MAX_TURN_CHARS)}")
    for call in message.tool_calls or []:
        args = call.raw_arguments or json.dumps(call.arguments, sort_keys=True)
        lines.append(f"{speaker} calls {call.name}({_shorten(args, MAX_TOOL_CHARS)})")
    return lines


def _fit(lines: list[str], limit: int) -> list[str]:
    """The lines, or the first and last ones around a marker, so that they fit in ``limit``."""
    if sum(len(line) + 1 for line in lines) <= limit:
        return lines
    budget = limit - 40
    head: list[str] = []
    tail: list[str] = []
    first, last = 0, len(lines) - 1
    while first <= last:
        from_head = len(head) <= len(tail)
        line = lines[first] if from_head else lines[last]
        if len(line) + 1 > budget:
            break
        budget -= len(line) + 1
        if from_head:
            head.append(line)
            first += 1
        else:
            tail.append(line)
            last -= 1
    omitted = last - first + 1
    return [*head, f"[... {omitted} turns left out ...]", *reversed(tail)]


def render_dialogue(messages: Sequence[Message]) -> str:
    """The dialogue as plain text turns: user and agent text, tool calls, short tool results."""
    lines = [line for message in messages for line in _turn_lines(message)]
    return "\n".join(_fit(lines, MAX_DIALOGUE_CHARS))


def render_prompt(assertion: str, dialogue: str, template: str | None = None) -> str:
    """The judge's prompt for one assertion (``prompts/nl_judge.md`` by default)."""
    text = template if template is not None else PROMPT_PATH.read_text(encoding="utf-8")
    return Template(text).safe_substitute(dialogue=dialogue, assertion=assertion.strip())


# -- parsing -----------------------------------------------------------------------------------
def _as_bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        word = value.strip().lower()
        return True if word in _YES else False if word in _NO else None
    return None


def _parse_json(text: str) -> tuple[bool, str] | None:
    """A verdict from a JSON object with ``met`` (or ``metExpectation``), if there is one."""
    try:
        data = json_object(text)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    met = _as_bool(data.get("met", data.get("metExpectation")))
    if met is None:
        return None
    reason = data.get("reason", data.get("reasoning", data.get("justification", "")))
    return met, str(reason or "").strip()


def _parse_word(text: str) -> tuple[bool, str] | None:
    """A verdict from the first word (after an optional ``Verdict:``-style label)."""
    words = list(_WORD.finditer(text))[:2]
    if words and words[0].group(0).lower() in _LABELS:
        words = words[1:]
    if not words or words[0].start() > 40:
        return None
    met = _as_bool(words[0].group(0))
    if met is None:
        return None
    reason = text[words[0].end() :].strip(" \t\n\r.,:;-*\"'")
    return met, " ".join(reason.split())[:500]


_NEGATIONS = frozenset({"not", "no", "false", "never", "unmet", "isn", "doesn", "didn"})


def _parse_sentence(text: str) -> tuple[bool, str] | None:
    """A verdict from a first sentence that calls the statement true or false.

    Small models answer "The conversation shows that the statement is true." instead of a
    first-word YES: a first sentence with ``true`` (or ``yes``) and no negation reads as met,
    one with ``false``, or ``true`` negated, as not met; any other sentence is unreadable.
    """
    sentence = re.split(r"(?<=[.!?])\s", text.strip(), maxsplit=1)[0]
    words = {w.lower() for w in _WORD.findall(sentence)}
    reason = " ".join(sentence.split())[:500]
    if "false" in words or (words & {"true", "yes"} and words & _NEGATIONS):
        return False, reason
    if words & {"true", "yes"}:
        return True, reason
    return None


def parse_verdict(text: str) -> tuple[bool, str] | None:
    """``(met, reason)`` read leniently from a judge's answer; None when it cannot be read."""
    cleaned = _THINK.sub("", text or "").strip()
    return _parse_json(cleaned) or _parse_word(cleaned) or _parse_sentence(cleaned)


# -- sync over async ---------------------------------------------------------------------------
def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion from synchronous code, inside a running loop or not.

    With no running loop in this thread it is ``asyncio.run``; inside one (which must not be
    re-entered) the coroutine runs on a fresh loop in a worker thread while this thread waits.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="nl-judge") as pool:
        return pool.submit(asyncio.run, coro).result()


# -- the judge ---------------------------------------------------------------------------------
class LLMNLJudge:
    """Judges tau2 NL assertions with an LLM, one call per assertion (see the module docstring).

    Args:
        client: The judge role's client.
        seed: Seed of every call (part of the disk-cache key, so sampled calls are cached too).
        template: Prompt template with ``$dialogue`` and ``$assertion``; default
            ``prompts/nl_judge.md``.
    """

    name = "llm"

    def __init__(self, client: LLMClient, *, seed: int | None = 0, template: str | None = None):
        self.client = client
        self.seed = seed
        self.template = template or PROMPT_PATH.read_text(encoding="utf-8")
        self.stats = NLJudgeStats()
        self._memo: dict[tuple[str, str, str], NLAssertionCheck] = {}
        self._lock = threading.Lock()

    @property
    def model(self) -> str:
        """The judge's LiteLLM model string."""
        return self.client.role.model

    def judge(
        self, task: Task, messages: Sequence[Message], assertions: Sequence[str]
    ) -> list[NLAssertionCheck]:
        """One verdict per assertion, in order (synchronous; safe inside a running loop)."""
        return run_sync(self.ajudge(task, messages, assertions))

    async def ajudge(
        self, task: Task, messages: Sequence[Message], assertions: Sequence[str]
    ) -> list[NLAssertionCheck]:
        """One verdict per assertion, in order; the calls run concurrently."""
        dialogue = render_dialogue(messages)
        digest = hashlib.sha256(dialogue.encode("utf-8")).hexdigest()
        checks = await asyncio.gather(*(self._verdict(a, dialogue, digest) for a in assertions))
        return list(checks)

    async def _verdict(self, assertion: str, dialogue: str, digest: str) -> NLAssertionCheck:
        key = (assertion, digest, self.model)
        with self._lock:
            known = self._memo.get(key)
            if known is not None:
                self.stats.memory_hits += 1
                return known
            self.stats.calls += 1
        check, keep = await self._ask(assertion, dialogue)
        if keep:
            with self._lock:
                self._memo[key] = check
        return check

    async def _ask(self, assertion: str, dialogue: str) -> tuple[NLAssertionCheck, bool]:
        """The verdict of one call, and whether it may be remembered (not a failed call)."""
        prompt = render_prompt(assertion, dialogue, self.template)
        try:
            completion = await self.client.complete(
                [{"role": "user", "content": prompt}], seed=self.seed
            )
        except LLMError as exc:
            self._count_problem("errors")
            return self._check(assertion, False, f"{CALL_FAILED}{exc}"), False
        text = completion.message.content or ""
        verdict = parse_verdict(text)
        if verdict is None:
            self._count_problem("unparseable")
            return self._check(assertion, False, f"{UNPARSEABLE}{text[:200]}"), True
        met, reason = verdict
        return self._check(assertion, met, reason or ("YES" if met else "NO")), True

    def _count_problem(self, name: str) -> None:
        with self._lock:
            setattr(self.stats, name, getattr(self.stats, name) + 1)

    @staticmethod
    def _check(assertion: str, met: bool, justification: str) -> NLAssertionCheck:
        return NLAssertionCheck(nl_assertion=assertion, met=met, justification=justification)


def nl_judge_from_config(
    llm_config: LLMConfig | Path | str | None, *, use_cache: bool = True
) -> LLMNLJudge | None:
    """The NL-assertion judge of an LLM config's ``judge`` role; None when that is offline.

    Args:
        llm_config: A loaded config, the path of one, or None (the offline default).
        use_cache: False disables the disk cache (``--no-cache``).

    Raises:
        DataError: the config file is missing or invalid (one line naming file and field).
    """
    config = llm_config if isinstance(llm_config, LLMConfig) else load_llm_config(llm_config)
    role = config.judge
    if role.is_offline:
        return None
    client = LLMClient(
        role, config.cache_dir, config.concurrency, name="judge", use_cache=use_cache
    )
    return LLMNLJudge(client)


__all__ = [
    "NL_JUDGE_VERSION",
    "LLMNLJudge",
    "NLJudgeStats",
    "nl_judge_from_config",
    "parse_verdict",
    "render_dialogue",
    "render_prompt",
    "run_sync",
]
