"""Stage records of ``taskforge loop`` in the warehouse: what ran, with which config, and what
it produced, so that a rerun skips every stage already done and resumes at the first one not.

A stage's row is written once it has finished (its outputs in one transaction with its status);
a stage killed midway leaves no ``done`` row and runs again. Each stage's own writes are
idempotent (content keys), so running it again adds nothing twice.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import orjson

from taskforge.warehouse.store import Warehouse, run_sql


def stage_outputs(
    warehouse: Path | None, loop_id: str, round_: int, stage: str
) -> dict[str, Any] | None:
    """The outputs of a finished stage, or None when it has not finished."""
    if warehouse is None or not Path(warehouse).exists():
        return None
    with Warehouse.open(warehouse, read_only=True) as wh:
        rows = wh.con.execute(
            "SELECT outputs FROM loop_stages WHERE loop_id = ? AND round = ? AND stage = ? "
            "AND status = 'done'",
            [loop_id, round_, stage],
        ).fetchall()
    return orjson.loads(rows[0][0]) if rows else None


def record_stage(
    warehouse: Path | None,
    loop_id: str,
    config_hash: str,
    round_: int,
    stage: str,
    outputs: dict[str, Any],
    started_at: datetime,
) -> dict[str, Any]:
    """Mark a stage done with its outputs (replacing an earlier record of the same stage).

    Returns the outputs as a resumed run will read them back (JSON round trip).
    """
    text = orjson.dumps(outputs, option=orjson.OPT_NON_STR_KEYS).decode()
    with Warehouse.open(warehouse) as wh, wh.transaction():
        run_sql(
            wh.con,
            "DELETE FROM loop_stages WHERE loop_id = ? AND round = ? AND stage = ?",
            [loop_id, round_, stage],
        )
        run_sql(
            wh.con,
            "INSERT INTO loop_stages VALUES (?, ?, ?, 'done', ?, ?, ?, ?)",
            [
                loop_id,
                round_,
                stage,
                config_hash,
                text,
                started_at,
                datetime.now(timezone.utc),
            ],
        )
    return orjson.loads(text)


def now() -> datetime:
    """The current time (UTC), for a stage's start."""
    return datetime.now(timezone.utc)
