"""Validated records -> warehouse rows (columns as lists, ready for Arrow).

Trajectories are flattened from their JSON as recorded (already validated against the
contract), which is several times faster than dumping pydantic models again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

import orjson

from taskforge.contracts import Run, Task
from taskforge.warehouse.keys import canonical, content_key
from taskforge.warehouse.schema import TABLE_BY_NAME

Columns = dict[str, list[Any]]
Raw = Mapping[str, Any]

_TRAJ_COLUMNS = frozenset(
    {
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
)
_MSG_COLUMNS = frozenset({"role", "content", "turn_idx", "timestamp", "cost", "tool_calls"})
_EMPTY: dict[str, Any] = {}


def _extra(message: Raw) -> str | None:
    """The message's fields that have no column of their own, as JSON (None if there are none)."""
    extra = {k: v for k, v in message.items() if k not in _MSG_COLUMNS}
    return orjson.dumps(extra).decode() if extra else None


def new_columns(table: str) -> Columns:
    """Empty column lists for a table."""
    return {name: [] for name in TABLE_BY_NAME[table].column_names}


def _json(value: Any) -> str | None:
    return None if value is None else orjson.dumps(value).decode()


def task_uid(task: Task, domain: str) -> str:
    """Content key of a task (its JSON as given, plus the domain)."""
    return content_key("task", domain, task.to_json_dict())


def trajectory_uid(run_id: str, raw: Raw) -> str:
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
    cols["task_uid"].append(uid)
    cols["task_id"].append(task.id)
    cols["domain"].append(domain)
    cols["origin"].append(task.origin)
    cols["pattern"].append(task.pattern)
    cols["round"].append(task.lineage.round if task.lineage else None)
    for name in ("lineage", "certificate", "user_scenario", "evaluation_criteria"):
        cols[name].append(_json(data.get(name)))
    cols["task"].append(_json(data))


class TrajectoryRows:
    """Rows of trajectories, their messages and their tool calls."""

    def __init__(self, tool_kinds: Mapping[str, str]) -> None:
        self.tool_kinds = tool_kinds
        self.trajectories = new_columns("trajectories")
        self.messages = new_columns("messages")
        self.tool_calls = new_columns("tool_calls")

    def add(self, uid: str, run_id: str, task_uid: str | None, raw: Raw) -> None:
        """Append the rows of one validated trajectory, given as recorded."""
        messages = raw["messages"]
        counts = self._messages(uid, messages)
        counts += self._calls(uid, messages)
        self._trajectory(uid, run_id, task_uid, raw, counts)

    def _messages(self, uid: str, messages: list[Raw]) -> list[int]:
        """Message rows, column by column; returns [prompt, completion, turns, tool errors]."""
        n = len(messages)
        c = self.messages
        usages = [m.get("usage") or _EMPTY for m in messages]
        prompt = [u.get("prompt_tokens") for u in usages]
        completion = [u.get("completion_tokens") for u in usages]
        roles = [m["role"] for m in messages]
        contents = [m.get("content") for m in messages]
        c["traj_uid"] += [uid] * n
        c["idx"] += range(n)
        c["role"] += roles
        c["content"] += contents
        c["turn_idx"] += [m.get("turn_idx") for m in messages]
        c["timestamp"] += [m.get("timestamp") for m in messages]
        c["cost"] += [m.get("cost") for m in messages]
        c["prompt_tokens"] += prompt
        c["completion_tokens"] += completion
        c["n_tool_calls"] += [len(m.get("tool_calls") or ()) for m in messages]
        c["extra"] += [_extra(m) for m in messages]
        turns = sum(1 for r, t in zip(roles, contents, strict=True) if t and r != "tool")
        errors = sum(1 for m in messages if m["role"] == "tool" and m.get("error"))
        return [sum(filter(None, prompt)), sum(filter(None, completion)), turns, errors]

    def _calls(self, uid: str, messages: list[Raw]) -> list[int]:
        """Tool-call rows with their results; returns [calls, write calls]."""
        calls = [
            (idx, call_idx, call)
            for idx, m in enumerate(messages)
            for call_idx, call in enumerate(m.get("tool_calls") or ())
        ]
        if not calls:
            return [0, 0]
        results = {m.get("id"): m for m in messages if m["role"] == "tool"}
        found = [results.get(call.get("id", "")) for _, _, call in calls]
        kinds = [self.tool_kinds.get(call["name"], "unknown") for _, _, call in calls]
        c = self.tool_calls
        c["traj_uid"] += [uid] * len(calls)
        c["msg_idx"] += [idx for idx, _, _ in calls]
        c["call_idx"] += [call_idx for _, call_idx, _ in calls]
        c["call_id"] += [call.get("id", "") for _, _, call in calls]
        c["name"] += [call["name"] for _, _, call in calls]
        c["arguments"] += [orjson.dumps(call["arguments"]).decode() for _, _, call in calls]
        c["requestor"] += [call.get("requestor", "assistant") for _, _, call in calls]
        c["result"] += [r.get("content") if r else None for r in found]
        c["is_error"] += [_is_error(r) for r in found]
        c["tool_type"] += kinds
        return [len(calls), kinds.count("write")]

    def _trajectory(
        self, uid: str, run_id: str, task_uid: str | None, t: Raw, counts: list[int]
    ) -> None:
        info = t.get("reward_info") or {}
        diff = info.get("diff") or {}
        values = {
            "traj_uid": uid,
            "run_id": run_id,
            "task_uid": task_uid,
            "task_id": t["task_id"],
            "sim_id": t["id"],
            "trial": t.get("trial"),
            "seed": t.get("seed"),
            "reward": info.get("reward"),
            "reward_breakdown": _json(info.get("reward_breakdown")),
            "db_match": (info.get("db_check") or {}).get("db_match"),
            "termination_reason": t["termination_reason"],
            "n_messages": len(t["messages"]),
            "n_turns": counts[2],
            "n_tool_calls": counts[4],
            "n_tool_errors": counts[3],
            "n_write_calls": counts[5],
            "prompt_tokens": counts[0],
            "completion_tokens": counts[1],
            "agent_cost": t.get("agent_cost"),
            "user_cost": t.get("user_cost"),
            "duration": t.get("duration"),
            "start_time": t.get("start_time"),
            "error_modes": _json(t.get("error_modes")),
            "first_divergent_write": _json(diff.get("first_divergent_write")),
            "reward_info": _json(t.get("reward_info")),
            "extra": _json({k: v for k, v in t.items() if k not in _TRAJ_COLUMNS} or None),
        }
        c = self.trajectories
        for name, value in values.items():
            c[name].append(value)


def _is_error(result: Raw | None) -> bool | None:
    if result is None:
        return None
    if result.get("error") is not None:
        return bool(result["error"])
    content = result.get("content")
    return bool(content and content.startswith("Error:"))
