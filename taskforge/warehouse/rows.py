"""Contracts -> warehouse rows (columns as lists, ready for Arrow)."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Mapping
from typing import Any

import orjson

from taskforge.contracts import Message, Run, Task, Trajectory
from taskforge.warehouse.keys import canonical, content_key
from taskforge.warehouse.schema import TABLE_BY_NAME

Columns = dict[str, list[Any]]

_TRAJ_COLUMNS = {
    "id",
    "task_id",
    "trial",
    "seed",
    "termination_reason",
    "agent_cost",
    "user_cost",
    "duration",
    "start_time",
    "error_modes",
    "reward_info",
    "messages",
}
_MSG_COLUMNS = {"role", "content", "turn_idx", "timestamp", "cost", "tool_calls"}


def new_columns(table: str) -> Columns:
    """Empty column lists for a table."""
    return {name: [] for name in TABLE_BY_NAME[table].column_names}


def _json(value: Any) -> str | None:
    if value is None:
        return None
    return orjson.dumps(value).decode()


def task_uid(task: Task, domain: str) -> str:
    """Content key of a task (its JSON as given, plus the domain)."""
    return content_key("task", domain, task.to_json_dict())


def trajectory_uid(run_id: str, raw: Mapping[str, Any]) -> str:
    """Content key of a trajectory: its run and its JSON as recorded."""
    return "traj-" + hashlib.sha256(run_id.encode() + b"\x00" + canonical(raw)).hexdigest()[:24]


def add_run(cols: Columns, run: Run, source_path: str, now: Any) -> None:
    """Append one run row."""
    data = run.model_dump(mode="json")
    for name in (
        "run_id",
        "source",
        "agent_model",
        "user_model",
        "domain",
        "env_version",
        "round",
        "created_at",
    ):
        cols[name].append(data[name])
    cols["config"].append(_json(data["config"]))
    cols["source_path"].append(source_path)
    cols["ingested_at"].append(now)


def add_task(cols: Columns, task: Task, uid: str, domain: str) -> None:
    """Append one task row."""
    data = task.to_json_dict()
    lineage = task.lineage
    cols["task_uid"].append(uid)
    cols["task_id"].append(task.id)
    cols["domain"].append(domain)
    cols["origin"].append(task.origin)
    cols["pattern"].append(task.pattern)
    cols["round"].append(lineage.round if lineage else None)
    for name in ("lineage", "certificate", "user_scenario", "evaluation_criteria"):
        cols[name].append(_json(data.get(name)))
    cols["task"].append(_json(data))


class TrajectoryRows:
    """Rows of one or more trajectories: the trajectory, its messages and tool calls."""

    def __init__(self, tool_kinds: Mapping[str, str]) -> None:
        self.tool_kinds = tool_kinds
        self.trajectories = new_columns("trajectories")
        self.messages = new_columns("messages")
        self.tool_calls = new_columns("tool_calls")

    def add(self, uid: str, run_id: str, task_uid: str | None, traj: Trajectory) -> None:
        """Append the rows of one trajectory."""
        results = _tool_results(traj.messages)
        counts: dict[str, int] = defaultdict(int)
        for idx, message in enumerate(traj.messages):
            self._message(uid, idx, message, counts)
            for call_idx, call in enumerate(message.tool_calls or []):
                self._call(uid, idx, call_idx, call, results.get(call.id), counts)
        self._trajectory(uid, run_id, task_uid, traj, counts)

    def _message(self, uid: str, idx: int, m: Message, counts: dict[str, int]) -> None:
        usage = m.usage or {}
        c = self.messages
        c["traj_uid"].append(uid)
        c["idx"].append(idx)
        c["role"].append(m.role)
        c["content"].append(m.content)
        c["turn_idx"].append(m.turn_idx)
        c["timestamp"].append(m.timestamp)
        c["cost"].append(m.cost)
        c["prompt_tokens"].append(usage.get("prompt_tokens"))
        c["completion_tokens"].append(usage.get("completion_tokens"))
        c["n_tool_calls"].append(len(m.tool_calls or []))
        # what to_json_dict() gives minus the columns, without serialising the tool calls
        extra = m.model_dump(mode="json", exclude_unset=True, by_alias=True, exclude=_MSG_COLUMNS)
        c["extra"].append(_json(extra) if extra else None)
        counts["prompt_tokens"] += usage.get("prompt_tokens") or 0
        counts["completion_tokens"] += usage.get("completion_tokens") or 0
        counts["turns"] += m.role in ("user", "assistant") and bool(m.content)
        counts["tool_errors"] += m.role == "tool" and bool(m.error)

    def _call(
        self,
        uid: str,
        idx: int,
        call_idx: int,
        call: Any,
        result: Message | None,
        counts: dict[str, int],
    ) -> None:
        kind = self.tool_kinds.get(call.name, "unknown")
        c = self.tool_calls
        c["traj_uid"].append(uid)
        c["msg_idx"].append(idx)
        c["call_idx"].append(call_idx)
        c["call_id"].append(call.id)
        c["name"].append(call.name)
        c["arguments"].append(_json(call.arguments))
        c["requestor"].append(call.requestor)
        c["result"].append(result.content if result else None)
        c["is_error"].append(_is_error(result))
        c["tool_type"].append(kind)
        counts["tool_calls"] += 1
        counts["write_calls"] += kind == "write"

    def _trajectory(
        self, uid: str, run_id: str, task_uid: str | None, t: Trajectory, counts: dict[str, int]
    ) -> None:
        info = t.reward_info
        diff = info.diff if info else None
        # to_json_dict() without the messages (stored in their own table, not needed here)
        data = t.model_dump(mode="json", exclude_unset=True, by_alias=True, exclude={"messages"})
        c = self.trajectories
        values = {
            "traj_uid": uid,
            "run_id": run_id,
            "task_uid": task_uid,
            "task_id": t.task_id,
            "sim_id": t.id,
            "trial": t.trial,
            "seed": t.seed,
            "reward": info.reward if info else None,
            "reward_breakdown": _json((data.get("reward_info") or {}).get("reward_breakdown")),
            "db_match": info.db_check.db_match if info and info.db_check else None,
            "termination_reason": t.termination_reason.value,
            "n_messages": len(t.messages),
            "n_turns": counts["turns"],
            "n_tool_calls": counts["tool_calls"],
            "n_tool_errors": counts["tool_errors"],
            "n_write_calls": counts["write_calls"],
            "prompt_tokens": counts["prompt_tokens"],
            "completion_tokens": counts["completion_tokens"],
            "agent_cost": t.agent_cost,
            "user_cost": t.user_cost,
            "duration": t.duration,
            "start_time": t.start_time,
            "error_modes": _json(t.error_modes),
            "first_divergent_write": _json(
                diff.first_divergent_write.model_dump(mode="json")
                if diff and diff.first_divergent_write
                else None
            ),
            "reward_info": _json(data.get("reward_info")),
            "extra": _json({k: v for k, v in data.items() if k not in _TRAJ_COLUMNS} or None),
        }
        for name, value in values.items():
            c[name].append(value)


def _tool_results(messages: list[Message]) -> dict[str, Message]:
    return {m.id: m for m in messages if m.role == "tool" and m.id is not None}


def _is_error(result: Message | None) -> bool | None:
    if result is None:
        return None
    if result.error is not None:
        return result.error
    return bool(result.content and result.content.startswith("Error:"))
