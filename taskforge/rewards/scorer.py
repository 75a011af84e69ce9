"""The scorer: a trajectory, its task and a reward spec in, a :class:`RewardBreakdown` out.

Scoring is pure: the same episode, task, DB and spec always give the same breakdown. Task
success is tau2's reward from :class:`~taskforge.env.evaluator.Evaluator` on the task's
initial DB; the other components read the facts of
:class:`~taskforge.rewards.context.ScoreContext`. The total is
``clip(sum(weight * value), clip_min, clip_max)``.
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import orjson
from pydantic import ValidationError

from taskforge.contracts import Message, Task, TerminationReason, ToolCall, Trajectory
from taskforge.contracts.rewardspec import (
    ComponentScore,
    RewardBreakdown,
    RewardSpec,
    SuccessSummary,
)
from taskforge.domains import get_domain
from taskforge.env.bench import gold_messages
from taskforge.env.db import Database
from taskforge.env.evaluator import Evaluator
from taskforge.env.toolkit import Toolkit
from taskforge.errors import DataError, describe_validation_error
from taskforge.llm.client import parse_tool_call
from taskforge.rewards.context import ScoreContext, replay_calls
from taskforge.rewards.spec import build_components, resolved

SpecLike = RewardSpec | str | Path


class Scorer:
    """Scores episodes of one domain on one base DB (caches the gold side per task)."""

    def __init__(
        self,
        toolkit_cls: type[Toolkit],
        db: Database,
        evaluator: Evaluator | None = None,
    ) -> None:
        self.toolkit_cls = toolkit_cls
        self.db = db
        self.evaluator = evaluator or Evaluator(toolkit_cls, db)
        self._gold: dict[tuple[str, bytes], list[Message]] = {}

    def gold_messages(self, task: Task) -> list[Message]:
        """The honest gold trajectory of a task (cached per task id and gold actions)."""
        actions = task.gold_actions()
        key = (task.id, orjson.dumps([(a.name, a.arguments) for a in actions]))
        if key not in self._gold:
            self._gold[key] = gold_messages(self.toolkit_cls, self.db, task)
        return self._gold[key]

    def context(
        self, task: Task, messages: Sequence[Message], termination: TerminationReason
    ) -> ScoreContext:
        """Everything the components read for one episode."""
        return ScoreContext(
            task=task,
            messages=list(messages),
            termination=termination,
            reward_info=self.evaluator.evaluate(task, messages, termination),
            toolkit_cls=self.toolkit_cls,
            gold_messages=self.gold_messages(task),
            calls=replay_calls(self.toolkit_cls, self.db, task, messages),
        )

    def score(
        self,
        task: Task,
        messages: Sequence[Message],
        termination: TerminationReason,
        spec: SpecLike,
        trajectory_id: str | None = None,
    ) -> RewardBreakdown:
        """The breakdown of one episode under ``spec``."""
        spec = resolved(spec)
        ctx = self.context(task, messages, termination)
        parts = []
        for name, kind, weight, component in build_components(spec):
            ctx.detail = {}
            value = float(component.score(ctx))
            parts.append(
                ComponentScore(
                    name=name,
                    kind=kind,
                    weight=weight,
                    value=value,
                    contribution=weight * value,
                    detail=ctx.detail,
                )
            )
        total = sum(p.contribution for p in parts)
        return RewardBreakdown(
            score=min(spec.clip_max, max(spec.clip_min, total)),
            unclipped=total,
            task_id=task.id,
            trajectory_id=trajectory_id,
            spec_name=spec.name,
            spec_version=spec.version,
            spec_hash=spec.spec_hash(),
            components=parts,
            success=_summary(ctx),
            notes=ctx.notes(),
        )


def _summary(ctx: ScoreContext) -> SuccessSummary:
    info = ctx.reward_info
    note = (info.info or {}).get("note")
    return SuccessSummary(
        reward=info.reward,
        reward_basis=info.reward_basis,
        reward_breakdown=info.reward_breakdown,
        db_match=info.db_check.db_match if info.db_check else None,
        skipped=info.skipped,
        note=note if isinstance(note, str) else None,
    )


# -- convenience entry points ------------------------------------------------------------------
_BY_EVALUATOR: weakref.WeakKeyDictionary[Evaluator, Scorer] = weakref.WeakKeyDictionary()
_BY_DB: weakref.WeakKeyDictionary[Database, Scorer] = weakref.WeakKeyDictionary()


def scorer_for(
    evaluator: Evaluator | None = None,
    db: Database | Mapping[str, Any] | str | None = None,
    domain: str = "retail",
) -> Scorer:
    """A scorer, reused for the same evaluator or DB object so gold replays are cached.

    Args:
        evaluator: Score with this evaluator (its DB and toolkit).
        db: Otherwise this DB: a ``Database``, its JSON data (validated on every call), or
            its JSON text (parsed once and remembered: pass text when scoring many episodes);
            None: the domain's bundled DB.
        domain: Domain of the DB and the tasks.
    """
    if evaluator is not None:
        if evaluator not in _BY_EVALUATOR:
            _BY_EVALUATOR[evaluator] = Scorer(evaluator.toolkit_cls, evaluator.db, evaluator)
        return _BY_EVALUATOR[evaluator]
    base = _database(db, domain)
    if base not in _BY_DB:
        _BY_DB[base] = Scorer(get_domain(domain).toolkit_cls, base)
    return _BY_DB[base]


def _database(db: Database | Mapping[str, Any] | str | None, domain: str) -> Database:
    if isinstance(db, Database):
        return db
    if db is None:
        return _bundled_db(domain)
    if isinstance(db, str):
        return _db_from_text(db, domain)
    return get_domain(domain).database_cls.from_dict(dict(db), source="db")


@lru_cache(maxsize=4)
def _bundled_db(domain: str) -> Database:
    return get_domain(domain).load_db()


_DB_TEXT: dict[tuple[Any, ...], tuple[str, Database]] = {}


def _db_from_text(text: str, domain: str) -> Database:
    """Parse a DB's JSON text once: a cheap signature finds it, a full comparison confirms it."""
    mid = len(text) // 2
    key = (domain, len(text), text[:256], text[mid : mid + 256], text[-256:])
    hit = _DB_TEXT.get(key)
    if hit is not None and hit[0] == text:
        return hit[1]
    try:
        data = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise DataError(f"db: not valid JSON ({exc})") from exc
    if len(_DB_TEXT) >= 8:
        _DB_TEXT.clear()
    db = get_domain(domain).database_cls.from_dict(data, source="db")
    _DB_TEXT[key] = (text, db)
    return db


def score(
    trajectory: Trajectory,
    task: Task,
    spec: SpecLike,
    *,
    evaluator: Evaluator | None = None,
    db: Database | Mapping[str, Any] | str | None = None,
    domain: str = "retail",
) -> RewardBreakdown:
    """Score a recorded trajectory on ``task`` under ``spec`` (a spec, preset name or file).

    Task success is evaluated on ``evaluator``'s DB, else on ``db`` (the task's initial DB),
    else on the domain's bundled DB.
    """
    scorer = scorer_for(evaluator, db, domain)
    return scorer.score(
        task, trajectory.messages, trajectory.termination_reason, spec, trajectory.id
    )


def score_messages(
    messages: Sequence[Message] | Sequence[Mapping[str, Any]],
    task: Task | Mapping[str, Any],
    spec: SpecLike,
    db: Database | Mapping[str, Any] | str | None = None,
    termination: TerminationReason | str = TerminationReason.USER_STOP,
    *,
    domain: str = "retail",
    trajectory_id: str | None = None,
) -> RewardBreakdown:
    """Score an episode given as messages: taskforge ``Message`` objects or dicts.

    Dicts may be taskforge/tau2 messages or OpenAI chat messages (``tool_calls`` with
    ``function.name`` and a JSON ``function.arguments`` string, tool turns with
    ``tool_call_id``, ``reasoning_content``). ``task`` may be a task's JSON data, ``db`` the
    initial DB as a ``Database``, its data or its JSON text (see :func:`scorer_for`).
    """
    scorer = scorer_for(None, db, domain)
    parsed = task if isinstance(task, Task) else _task(task)
    try:
        reason = TerminationReason(termination)
    except ValueError as exc:
        raise DataError(f"termination: unknown termination reason {termination!r}") from exc
    return scorer.score(parsed, to_messages(messages), reason, spec, trajectory_id)


def _task(data: Mapping[str, Any]) -> Task:
    try:
        return Task.model_validate(dict(data))
    except ValidationError as exc:
        raise DataError(describe_validation_error("task", exc)) from exc


def to_messages(items: Sequence[Message] | Sequence[Mapping[str, Any]]) -> list[Message]:
    """Messages from taskforge ``Message`` objects, tau2 message dicts or OpenAI chat dicts."""
    out = []
    for index, item in enumerate(items):
        if isinstance(item, Message):
            out.append(item)
        elif isinstance(item, Mapping):
            out.append(_message(item, index))
        else:
            raise DataError(f"messages: record #{index}: expected a message object or dict")
    return out


_ROLES = ("system", "user", "assistant", "tool")


def _message(item: Mapping[str, Any], index: int) -> Message:
    role = item.get("role")
    if role not in _ROLES:
        raise DataError(f"messages: record #{index}: field role: expected one of {_ROLES}")
    try:
        if role == "tool":
            call_id = item.get("id") or item.get("tool_call_id") or f"call_{index}"
            return Message(
                role="tool", id=str(call_id), content=_text(item), error=item.get("error")
            )
        calls = [_call(raw, i) for i, raw in enumerate(item.get("tool_calls") or [])]
        usage = item.get("usage")
        return Message(
            role=role,
            content=_text(item),
            tool_calls=calls or None,
            reasoning=item.get("reasoning") or item.get("reasoning_content"),
            usage=usage if isinstance(usage, dict) else None,
        )
    except ValidationError as exc:
        raise DataError(describe_validation_error("messages", exc, f"#{index}")) from exc


def _text(item: Mapping[str, Any]) -> str | None:
    content = item.get("content")
    if isinstance(content, list):  # OpenAI content parts: keep the text ones
        return "".join(str(p.get("text") or "") for p in content if isinstance(p, dict))
    return None if content is None else str(content)


def _call(raw: Any, index: int) -> ToolCall:
    if isinstance(raw, ToolCall):
        return raw
    if isinstance(raw, Mapping) and "function" in raw:
        return parse_tool_call(dict(raw), index)
    return ToolCall.model_validate(raw)
