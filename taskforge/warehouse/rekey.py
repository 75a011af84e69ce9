"""Migration 6: task keys normalised (nulls and defaults left out), existing rows re-keyed.

Before version 6 a task's key hashed its JSON as written, so the same task with and without
null or default fields had two keys and pass rates did not reach pool entries keyed the other
way. The step recomputes every stored task's key with :func:`~taskforge.warehouse.rows.task_uid`
and rewrites the key wherever it is stored; rows that now share a key are merged (the first
added pool entry, the latest verdict).
"""

from __future__ import annotations

from typing import Any

import orjson

from taskforge.contracts import Task
from taskforge.warehouse.rows import task_uid

KEYED_TABLES: dict[str, tuple[str, str]] = {
    "tasks": ("task_uid", "task_uid"),
    "task_pools": ("pool, round, task_uid", "added_at"),
    "verifications": ("task_uid, verifier_version", "created_at DESC"),
}
"""Tables whose primary key holds the task key: (key columns, which duplicate to keep first)."""

PLAIN_TABLES = ("run_tasks", "trajectories")
"""Tables that refer to a task key outside their primary key."""


def rekey_tasks(con: Any) -> int:
    """Re-key every stored task; returns how many keys changed."""
    rows = con.execute("SELECT task_uid, domain, task FROM tasks").fetchall()
    changed = {
        old: new
        for old, domain, data in rows
        if (new := task_uid(Task.model_validate(orjson.loads(data)), domain or "retail")) != old
    }
    if not changed:
        return 0
    con.execute("CREATE OR REPLACE TEMP TABLE uid_map (old VARCHAR, new VARCHAR)")
    con.executemany("INSERT INTO uid_map VALUES (?, ?)", list(changed.items()))
    for table in PLAIN_TABLES:
        con.execute(
            f"UPDATE {table} SET task_uid = m.new FROM uid_map m WHERE {table}.task_uid = m.old"
        )
    for table, (key, first) in KEYED_TABLES.items():
        _rekey_keyed(con, table, key, first)
    con.execute("DROP TABLE uid_map")
    return len(changed)


def _rekey_keyed(con: Any, table: str, key: str, first: str) -> None:
    """New-key copies of the re-keyed rows (one per key, none over a stored one), then the
    old rows out: never the same key twice in one transaction."""
    moved = (
        f"SELECT t.* REPLACE (m.new AS task_uid) FROM {table} t "
        "JOIN uid_map m ON t.task_uid = m.old"
    )
    con.execute(
        f"INSERT INTO {table} SELECT * FROM ({moved}) n "
        f"WHERE NOT EXISTS (SELECT 1 FROM {table} s WHERE "
        + " AND ".join(f"s.{c.strip()} = n.{c.strip()}" for c in key.split(","))
        + f") QUALIFY row_number() OVER (PARTITION BY {key} ORDER BY {first}) = 1"
    )
    con.execute(f"DELETE FROM {table} WHERE task_uid IN (SELECT old FROM uid_map)")
