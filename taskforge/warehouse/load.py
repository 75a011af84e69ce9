"""Reading trajectories back out of the warehouse as contracts (the inverse of ingest's rows)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import orjson

from taskforge.contracts import Task, Trajectory
from taskforge.warehouse.ingest.unknown import split_unknown
from taskforge.warehouse.store import Warehouse

_MSG_SQL = """
    SELECT traj_uid, idx, role, content, turn_idx, "timestamp", cost, extra, tool_call_id,
           requestor, error, prompt_tokens, completion_tokens
    FROM messages WHERE traj_uid IN (SELECT unnest(?::VARCHAR[])) ORDER BY traj_uid, idx"""
_CALL_SQL = """
    SELECT traj_uid, msg_idx, call_id, name, arguments, requestor
    FROM tool_calls WHERE traj_uid IN (SELECT unnest(?::VARCHAR[]))
    ORDER BY traj_uid, msg_idx, call_idx"""
_TRAJ_SQL = """
    SELECT traj_uid, sim_id, task_id, trial, seed, termination_reason, agent_cost, user_cost,
           duration, start_time, error_modes, reward_info, extra
    FROM trajectories WHERE traj_uid IN (SELECT unnest(?::VARCHAR[]))"""


def _loads(value: Any) -> Any:
    return None if value is None else orjson.loads(value)


def _calls(wh: Warehouse, uids: list[str]) -> dict[tuple[str, int], list[dict[str, Any]]]:
    out: dict[tuple[str, int], list[dict[str, Any]]] = defaultdict(list)
    for uid, msg_idx, call_id, name, arguments, requestor in wh.con.execute(
        _CALL_SQL, [uids]
    ).fetchall():
        out[(uid, msg_idx)].append(
            {"id": call_id, "name": name, "arguments": _loads(arguments), "requestor": requestor}
        )
    return out


def _messages(wh: Warehouse, uids: list[str]) -> dict[str, list[dict[str, Any]]]:
    calls = _calls(wh, uids)
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in wh.con.execute(_MSG_SQL, [uids]).fetchall():
        uid, idx, role, content, turn_idx, ts, cost, extra, call_id, requestor, error = row[:11]
        fields = {
            "role": role,
            "content": content,
            "turn_idx": turn_idx,
            "timestamp": ts,
            "cost": cost,
            "tool_calls": calls.get((uid, idx)),
            "id": call_id,
            "requestor": requestor,
            "error": error,
        }
        message = {k: v for k, v in fields.items() if v is not None}
        message.update(_loads(extra) or {})
        if "usage" not in message and None not in row[11:]:  # usage was just the two counts
            message["usage"] = {"prompt_tokens": row[11], "completion_tokens": row[12]}
        out[uid].append(message)
    return out


def load_trajectories(wh: Warehouse, uids: Sequence[str]) -> dict[str, Trajectory]:
    """The trajectories with these keys, rebuilt from their rows (messages, tool calls).

    Fields an adapter kept that the contract does not declare (see
    :mod:`taskforge.warehouse.ingest.unknown`) are left out; :func:`load_trajectory_records`
    gives the records with them.
    """
    records = load_trajectory_records(wh, uids)
    return {
        uid: Trajectory.model_validate(split_unknown(record, Trajectory)[0])
        for uid, record in records.items()
    }


def load_trajectory_records(wh: Warehouse, uids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """The trajectories with these keys as JSON records, every field kept at ingest included
    (an explicit null and an absent key read back alike: both absent)."""
    keys = list(uids)
    messages = _messages(wh, keys)
    out: dict[str, dict[str, Any]] = {}
    for row in wh.con.execute(_TRAJ_SQL, [keys]).fetchall():
        (
            uid,
            sim_id,
            task_id,
            trial,
            seed,
            reason,
            a_cost,
            u_cost,
            dur,
            start,
            modes,
            info,
            extra,
        ) = row
        fields = {
            "id": sim_id,
            "task_id": task_id,
            "trial": trial,
            "seed": seed,
            "termination_reason": reason,
            "agent_cost": a_cost,
            "user_cost": u_cost,
            "duration": dur,
            "start_time": start,
            "error_modes": _loads(modes),
            "reward_info": _loads(info),
        }
        data = {k: v for k, v in fields.items() if v is not None}
        data.update(_loads(extra) or {})
        data["messages"] = messages.get(uid, [])
        out[uid] = data
    return out


def load_tasks_by_uid(wh: Warehouse, task_uids: Sequence[str]) -> dict[str, Task]:
    """Tasks by their warehouse key."""
    rows = wh.con.execute(
        "SELECT task_uid, task FROM tasks WHERE task_uid IN (SELECT unnest(?::VARCHAR[]))",
        [list(task_uids)],
    ).fetchall()
    return {uid: Task.model_validate(orjson.loads(task)) for uid, task in rows}
