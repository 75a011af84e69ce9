"""Pools in the warehouse: build a round (idempotent, one transaction), load it, union rounds.

A round's rows in ``task_pools`` hold every candidate task with its status (active, retired,
dropped), reason and evidence; ``pool_rounds`` holds the round's mode, curriculum, config and
the commands that made it. Rebuilding a round recomputes it from its stored candidates plus
any new tasks and the evidence recorded so far: when nothing changed, nothing is written.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import orjson

from taskforge.contracts import Curriculum, PoolEntry, PoolMode, Task, TaskPool
from taskforge.errors import DataError
from taskforge.pool.curriculum import apply_curriculum, task_evidence
from taskforge.pool.entries import entry_for, keyed, sort_entries
from taskforge.warehouse.load import load_tasks_by_uid
from taskforge.warehouse.rows import add_task, new_columns
from taskforge.warehouse.schema import TABLE_BY_NAME
from taskforge.warehouse.store import Warehouse, insert_staged, run_sql


@dataclass
class _Stored:
    """A round as stored: its spec row and its candidates (uid -> added_at)."""

    mode: PoolMode
    domain: str
    curriculum: Curriculum | None
    config: dict[str, Any]
    commands: list[str]
    created_at: datetime | None
    added_at: dict[str, datetime]
    rows: set[tuple[Any, ...]]


_V1_SPEC = ("on-policy", "retail", None, None, None, None)
"""What a round written before schema v2 (no pool_rounds row) is taken to be."""


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _stored(wh: Warehouse, name: str, round_: int) -> _Stored | None:
    spec = wh.con.execute(
        "SELECT mode, domain, curriculum, config, commands, created_at FROM pool_rounds "
        "WHERE pool = ? AND round = ?",
        [name, round_],
    ).fetchone()
    rows = wh.con.execute(
        "SELECT task_uid, added_at, pattern, coalesce(status, 'active'), reason, pass_rate, "
        "coalesce(n_trials, 0) FROM task_pools WHERE pool = ? AND round = ?",
        [name, round_],
    ).fetchall()
    if spec is None and not rows:
        return None
    mode, domain, cur, config, commands, created = spec or _V1_SPEC
    return _Stored(
        mode=mode,
        domain=domain,
        curriculum=Curriculum.model_validate_json(cur) if cur else None,
        config=orjson.loads(config) if config else {},
        commands=orjson.loads(commands) if commands else [],
        created_at=created,
        added_at={r[0]: r[1] for r in rows},
        rows={(r[0], *r[2:]) for r in rows},
    )


def _previous(wh: Warehouse, name: str, round_: int) -> _Stored | None:
    """The pool's last round before ``round_`` (None for a new pool)."""
    before = wh.scalar(
        "SELECT max(round) FROM pool_rounds WHERE pool = ? AND round < ?", [name, round_]
    )
    return None if before is None else _stored(wh, name, int(before))


def _row(e: PoolEntry) -> tuple[Any, ...]:
    return (e.task_uid, e.pattern, e.status, e.reason, e.pass_rate, e.n_trials)


def merge_config(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
    """``new`` over ``old``; where both values are lists, their ordered union."""
    out = dict(old)
    for key, value in new.items():
        if isinstance(value, list) and isinstance(out.get(key), list):
            out[key] = out[key] + [v for v in value if v not in out[key]]
        else:
            out[key] = value
    return out


def build_pool(
    wh: Warehouse,
    name: str,
    round_: int,
    tasks: Sequence[Task] = (),
    curriculum: Curriculum | None = None,
    *,
    mode: PoolMode | None = None,
    domain: str | None = None,
    command: str | None = None,
    config: Mapping[str, Any] | None = None,
    allow_empty: bool = False,
) -> TaskPool:
    """Add ``tasks`` to round ``round_`` of pool ``name`` and (re)apply the curriculum.

    Candidates are the round's stored tasks plus ``tasks``; the curriculum, mode and domain
    default to the stored ones. Tasks are written to ``tasks`` when new. Everything lands in
    one transaction, and a rebuild that changes nothing writes nothing. A round with no task
    at all is an error unless ``allow_empty`` (a loop round whose candidates were all
    rejected: the union of the earlier rounds carries on).
    """
    stored = _stored(wh, name, round_)
    pool, new = _compose(
        wh, name, round_, stored, tasks, curriculum, mode, domain, config, allow_empty
    )
    if stored is not None and _unchanged(stored, pool):
        return pool
    if command:
        pool.commands.append(command)
    now = _now()
    pool.created_at = _iso(stored.created_at if stored and stored.created_at else now)
    with wh.transaction() as con:
        _write_tasks(con, list(new.items()), pool.domain)
        _write_round(con, pool, stored.added_at if stored else {}, now)
    return pool


def _compose(
    wh: Warehouse,
    name: str,
    round_: int,
    stored: _Stored | None,
    tasks: Sequence[Task],
    curriculum: Curriculum | None,
    mode: PoolMode | None,
    domain: str | None,
    config: Mapping[str, Any] | None,
    allow_empty: bool = False,
) -> tuple[TaskPool, dict[str, Task]]:
    """The round as it should be now, and the tasks the warehouse does not hold for it yet.

    Mode, domain and curriculum not given come from the round itself, else from the pool's
    previous round, else the defaults (on-policy, retail, no curriculum).
    """
    base = stored or _previous(wh, name, round_)
    domain = domain or (base.domain if base else "retail")
    mode = mode or (base.mode if base else "on-policy")
    if curriculum is None and base is not None:
        curriculum = base.curriculum
    known = load_tasks_by_uid(wh, sorted(stored.added_at)) if stored else {}
    new = {uid: t for uid, t in keyed(tasks, domain).items() if uid not in known}
    candidates = {**known, **new}
    if not candidates and not allow_empty:
        raise DataError(f"pool {name!r} round {round_}: no tasks (give a tasks file)")
    entries = [entry_for(t, uid, domain, round_) for uid, t in candidates.items()]
    evidence = task_evidence(wh, list(candidates), curriculum.runs if curriculum else None)
    pool = TaskPool(
        name=name,
        round=round_,
        mode=mode,
        domain=domain,
        curriculum=curriculum,
        entries=sort_entries(apply_curriculum(entries, evidence, curriculum)),
        config=merge_config(stored.config if stored else {}, config or {}),
        commands=list(stored.commands) if stored else [],
        created_at=_iso(stored.created_at) if stored else None,
    )
    return pool, new


def _unchanged(stored: _Stored, pool: TaskPool) -> bool:
    return (
        stored.rows == {_row(e) for e in pool.entries}
        and stored.mode == pool.mode
        and stored.domain == pool.domain
        and stored.curriculum == pool.curriculum
        and stored.config == pool.config
        and stored.created_at is not None
    )


def _write_tasks(con: Any, tasks: list[tuple[str, Task]], domain: str) -> None:
    cols = new_columns("tasks")
    for uid, task in tasks:
        add_task(cols, task, uid, domain)
    insert_staged(con, "tasks", TABLE_BY_NAME["tasks"].arrow(cols), new_only=True)


def _write_round(con: Any, pool: TaskPool, added: Mapping[str, datetime], now: datetime) -> None:
    key = [pool.name, pool.round]
    run_sql(con, "DELETE FROM task_pools WHERE pool = ? AND round = ?", key)
    run_sql(con, "DELETE FROM pool_rounds WHERE pool = ? AND round = ?", key)
    rows = new_columns("task_pools")
    for e in pool.entries:
        values = [*key, e.task_uid, added.get(e.task_uid, now), *_row(e)[1:]]
        for column, value in zip(rows, values, strict=True):
            rows[column].append(value)
    insert_staged(con, "task_pools", TABLE_BY_NAME["task_pools"].arrow(rows), new_only=False)
    dump = pool.model_dump(mode="json")
    spec: dict[str, list[Any]] = {
        "pool": [pool.name],
        "round": [pool.round],
        "mode": [pool.mode],
        "domain": [pool.domain],
        "curriculum": [orjson.dumps(dump["curriculum"]).decode() if pool.curriculum else None],
        "config": [orjson.dumps(dump["config"]).decode()],
        "commands": [orjson.dumps(dump["commands"]).decode()],
        "created_at": [datetime.fromisoformat(pool.created_at or now.isoformat())],
    }
    insert_staged(con, "pool_rounds", TABLE_BY_NAME["pool_rounds"].arrow(spec), new_only=False)


def latest_round(wh: Warehouse, name: str) -> int:
    """The last round of a pool; DataError when the pool does not exist."""
    value = wh.scalar("SELECT max(round) FROM task_pools WHERE pool = ?", [name])
    if value is None:
        known = [r[0] for r in wh.con.execute("SELECT DISTINCT pool FROM task_pools").fetchall()]
        raise DataError(
            f"no pool {name!r} in {wh.path} (pools: {', '.join(sorted(known)) or 'none'})"
        )
    return int(value)


def load_pool(wh: Warehouse, name: str, round_: int | None = None) -> tuple[TaskPool, list[Task]]:
    """A stored round (default: the latest) and its active tasks, in entry order."""
    round_ = latest_round(wh, name) if round_ is None else round_
    stored = _stored(wh, name, round_)
    if stored is None:
        raise DataError(f"pool {name!r} has no round {round_}")
    tasks = load_tasks_by_uid(wh, sorted(stored.added_at))
    status = {r[0]: r for r in stored.rows}
    entries = []
    for uid, task in tasks.items():
        _, _, state, reason, rate, n = status[uid]
        entry = entry_for(task, uid, stored.domain, round_)
        entries.append(
            entry.model_copy(
                update={"status": state, "reason": reason, "pass_rate": rate, "n_trials": n}
            )
        )
    pool = TaskPool(
        name=name,
        round=round_,
        mode=stored.mode,
        domain=stored.domain,
        curriculum=stored.curriculum,
        entries=sort_entries(entries),
        config=stored.config,
        commands=stored.commands,
        created_at=_iso(stored.created_at),
    )
    return pool, pool_tasks(pool, tasks)


def pool_tasks(pool: TaskPool, by_uid: Mapping[str, Task]) -> list[Task]:
    """The pool's active tasks, in entry order."""
    return [by_uid[e.task_uid] for e in pool.active()]


def union_pool(
    wh: Warehouse, name: str, up_to_round: int | None = None, curriculum: Curriculum | None = None
) -> tuple[TaskPool, list[Task]]:
    """RAFT's pool: every candidate of rounds <= ``up_to_round`` (default: the latest), each at
    the round that first offered it, with the curriculum re-applied on today's evidence.

    The curriculum defaults to the last included round's (so its retirement and band apply
    to the tasks of every earlier round too).
    """
    last = latest_round(wh, name) if up_to_round is None else up_to_round
    rows = wh.con.execute(
        "SELECT task_uid, min(round) FROM task_pools WHERE pool = ? AND round <= ? "
        "GROUP BY task_uid",
        [name, last],
    ).fetchall()
    if not rows:
        raise DataError(f"pool {name!r} has no rounds up to {last}")
    first = {uid: int(r) for uid, r in rows}
    latest = _stored(wh, name, max(first.values()))
    domain = latest.domain if latest else "retail"
    if curriculum is None and latest is not None:
        curriculum = latest.curriculum
    tasks = load_tasks_by_uid(wh, sorted(first))
    entries = [entry_for(t, uid, domain, first[uid]) for uid, t in tasks.items()]
    evidence = task_evidence(wh, list(tasks), curriculum.runs if curriculum else None)
    rounds = sorted(set(first.values()))
    created = wh.scalar(
        "SELECT max(created_at) FROM pool_rounds WHERE pool = ? AND round <= ?", [name, last]
    )
    pool = TaskPool(
        name=name,
        round=last,
        mode="raft-union",
        domain=domain,
        curriculum=curriculum,
        entries=sort_entries(apply_curriculum(entries, evidence, curriculum)),
        config={"rounds": rounds},
        created_at=_iso(created),
    )
    return pool, pool_tasks(pool, tasks)


def select_pool(
    wh: Warehouse, name: str, round_: int | None = None, union: bool | None = None
) -> tuple[TaskPool, list[Task]]:
    """The pool an exporter should use: the round's own (default mode on-policy) or the union
    up to it (``union``, or the round's stored mode raft-union)."""
    round_ = latest_round(wh, name) if round_ is None else round_
    if union is None:
        stored = _stored(wh, name, round_)
        union = stored is not None and stored.mode == "raft-union"
    return union_pool(wh, name, round_) if union else load_pool(wh, name, round_)


def list_pools(wh: Warehouse) -> list[dict[str, Any]]:
    """One summary row per pool round."""
    return wh.query(
        """SELECT p.pool, p.round, any_value(r.mode) AS mode, count(*) AS n_entries,
                  count(*) FILTER (WHERE coalesce(p.status, 'active') = 'active') AS n_active,
                  any_value(r.created_at) AS created_at
           FROM task_pools p LEFT JOIN pool_rounds r USING (pool, round)
           GROUP BY p.pool, p.round ORDER BY p.pool, p.round"""
    ).to_dicts()
