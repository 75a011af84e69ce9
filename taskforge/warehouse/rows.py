"""Validated records -> warehouse rows (Arrow tables, typed as the warehouse's columns).

Trajectories are flattened from their JSON as recorded (already validated against the
contract), which is several times faster than dumping pydantic models again. A file's
trajectories are flattened together, column by column: message fields go through one Arrow
struct conversion, per-trajectory counts are numpy sums over the message rows, and Python
touches each message only for its token counts (ints only: ``usage`` may hold anything), for
what has no column of its own (``extra``) and for tool calls.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from taskforge.contracts import Run, Task
from taskforge.contracts.base import SCHEMA_VERSION
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
_MSG_COLUMNS = frozenset(
    {"role", "content", "turn_idx", "timestamp", "cost", "tool_calls", "id", "requestor", "error"}
)
_MSG_KEYS = _MSG_COLUMNS | {"usage", "schema_version"}
"""Message fields not kept in ``extra``: those with columns of their own; ``usage`` when it is
just the two token counts (the columns rebuild it); ``schema_version`` when it is this one (the
contract's default). Otherwise those two stay in ``extra``."""
_INT64 = (-(2**63), 2**63 - 1)
_EMPTY: dict[str, Any] = {}
_NO_ANSWER = pa.scalar(None, pa.bool_())
_MESSAGE = pa.struct(
    [
        ("role", pa.string()),
        ("content", pa.string()),
        ("turn_idx", pa.int32()),
        ("timestamp", pa.string()),
        ("cost", pa.float64()),
        ("id", pa.string()),
        ("requestor", pa.string()),
        ("error", pa.bool_()),
        ("chunk_id", pa.int64()),
        ("is_final_chunk", pa.bool_()),
        (
            "tool_calls",
            pa.list_(
                pa.struct([("id", pa.string()), ("name", pa.string()), ("requestor", pa.string())])
            ),
        ),
    ]
)
"""The message fields Arrow reads straight from the dicts (``id``, ``error``: to find and read
the answers to tool calls; ``chunk_id``, ``is_final_chunk``: to count a streamed turn once)."""


def new_columns(table: str) -> Columns:
    """Empty column lists for a table."""
    return {name: [] for name in TABLE_BY_NAME[table].column_names}


def _json(value: Any) -> str | None:
    return None if value is None else orjson.dumps(value).decode()


def task_uid(task: Task, domain: str) -> str:
    """Content key of a task: its content, normalised, plus the domain.

    Nulls and default values are left out of the key, so a task written with or without
    them (tau2's tasks.json vs the tasks a tau2 results file embeds) is one task.
    """
    normalised = task.model_dump(
        mode="json", exclude_none=True, exclude_defaults=True, by_alias=True
    )
    return content_key("task", domain, normalised)


CLOCK_FIELDS = frozenset({"timestamp", "start_time", "end_time", "duration"})
"""Wall-clock fields of a trajectory record, left out of its key."""
MESSAGE_CLOCK_FIELDS = frozenset({"timestamp", "generation_time_seconds"})
"""Wall-clock fields of a message record, left out of its trajectory's key."""


def _without_clock(raw: Raw) -> Raw:
    """The record without its wall-clock fields (its messages' included)."""
    out = {k: v for k, v in raw.items() if k not in CLOCK_FIELDS}
    messages = raw.get("messages")
    if isinstance(messages, list):
        out["messages"] = [
            {k: v for k, v in m.items() if k not in MESSAGE_CLOCK_FIELDS}
            if isinstance(m, dict)
            else m
            for m in messages
        ]
    return out


def trajectory_uid(run_id: str, raw: Raw) -> str:
    """Content key of a trajectory: its run and its JSON as recorded, without the wall clock.

    When an episode started, how long it and each generation took are left out, so the same
    episode played twice (in this process or on Ray workers, today or tomorrow) has one key.
    """
    digest = hashlib.sha256(run_id.encode() + b"\x00")
    digest.update(canonical(_without_clock(raw)))
    return "traj-" + digest.hexdigest()[:24]


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


@dataclass
class TrajectoryInput:
    """One validated trajectory to flatten, with its keys and its domain's tool kinds."""

    uid: str
    run_id: str
    task_uid: str | None
    raw: Raw
    tool_kinds: Mapping[str, str]


def trajectory_tables(items: Sequence[TrajectoryInput]) -> dict[str, pa.Table]:
    """The ``trajectories``, ``messages`` and ``tool_calls`` rows of these trajectories."""
    lists = [item.raw["messages"] for item in items]
    lengths = np.fromiter(map(len, lists), dtype=np.int64, count=len(lists))
    messages = [m for ms in lists for m in ms]
    flat = _Flat(
        pa.array(messages, _MESSAGE),
        np.repeat(np.arange(len(items)), lengths),
        np.repeat(np.cumsum(lengths) - lengths, lengths),
        pa.array([item.uid for item in items], pa.string()),
    )
    rest = _rest(messages)
    calls, call_owner = _tool_calls(items, messages, flat)
    counts = _counts(flat, rest, len(items), calls, call_owner)
    return {
        "trajectories": _trajectories(items, flat.uids, lengths, counts),
        "messages": _messages(messages, flat, rest),
        "tool_calls": calls,
    }


@dataclass
class _Flat:
    """A file's messages in one Arrow struct array, with their trajectory (index, first row)."""

    fields: pa.StructArray
    owner: np.ndarray
    start: np.ndarray
    uids: pa.Array

    def __getitem__(self, name: str) -> pa.Array:
        return self.fields.field(name)


def _messages(messages: list[Raw], flat: _Flat, rest: _Rest) -> pa.Table:
    columns = {
        "traj_uid": flat.uids.take(flat.owner),
        "idx": np.arange(len(messages)) - flat.start,
        "role": flat["role"],
        "content": flat["content"],
        "turn_idx": flat["turn_idx"],
        "timestamp": flat["timestamp"],
        "cost": flat["cost"],
        "prompt_tokens": rest.prompt_tokens,
        "completion_tokens": rest.completion_tokens,
        "n_tool_calls": pc.fill_null(pc.list_value_length(flat["tool_calls"]), 0),
        "extra": rest.extra,
        "tool_call_id": flat["id"],
        "requestor": flat["requestor"],
        "error": flat["error"],
    }
    return arrow_table("messages", columns)


@dataclass
class _Rest:
    """What Python reads from each message: its token counts and its fields without a column."""

    prompt_tokens: list[int | None]
    completion_tokens: list[int | None]
    extra: list[str | None]


def _tokens(usage: Mapping[str, Any]) -> tuple[int | None, int | None, bool]:
    """The two token counts (ints only), and whether ``usage`` is nothing but them."""
    prompt, completion = usage.get("prompt_tokens"), usage.get("completion_tokens")
    low, high = _INT64
    if type(prompt) is not int or not low <= prompt <= high:
        prompt = None
    if type(completion) is not int or not low <= completion <= high:
        completion = None
    return prompt, completion, len(usage) == 2 and prompt is not None and completion is not None


def _rest(messages: Sequence[Raw]) -> _Rest:
    """Token counts (ints only) and each message's other fields as JSON (None if none)."""
    rest = _Rest([], [], [])
    prompts, completions, extras = rest.prompt_tokens, rest.completion_tokens, rest.extra
    dumps, keys, version = orjson.dumps, _MSG_KEYS, SCHEMA_VERSION
    for m in messages:
        usage = m.get("usage")
        prompt, completion, plain = (None, None, True) if usage is None else _tokens(usage)
        prompts.append(prompt)
        completions.append(completion)
        if plain and m.keys() <= keys and m.get("schema_version", version) == version:
            extras.append(None)
            continue
        other = {k: v for k, v in m.items() if k not in keys}
        if not plain:
            other["usage"] = usage
        if m.get("schema_version", version) != version:
            other["schema_version"] = m["schema_version"]
        extras.append(dumps(other).decode() if other else None)
    return rest


def _counts(
    flat: _Flat, rest: _Rest, n: int, calls: pa.Table, call_owner: np.ndarray
) -> dict[str, np.ndarray]:
    """Per-trajectory sums over its messages and tool calls."""

    def per_trajectory(values: Any, rows: np.ndarray = flat.owner) -> np.ndarray:
        weights = np.asarray(values, dtype=np.float64)
        return np.bincount(rows, weights=weights, minlength=n).astype(np.int64)

    def numbers(array: Any) -> np.ndarray:
        return np.asarray(pc.fill_null(array, 0).to_numpy(zero_copy_only=False))

    def flags(array: Any) -> np.ndarray:
        return np.asarray(pc.fill_null(array, False).to_numpy(zero_copy_only=False))

    tool = pc.fill_null(pc.equal(flat["role"], "tool"), False)
    return {
        "prompt_tokens": per_trajectory(numbers(pa.array(rest.prompt_tokens, pa.int64()))),
        "completion_tokens": per_trajectory(numbers(pa.array(rest.completion_tokens, pa.int64()))),
        "n_turns": per_trajectory(_text_turns(flat, flags(tool))),
        "n_tool_errors": per_trajectory(flags(pc.and_(tool, pc.fill_null(flat["error"], False)))),
        "n_tool_calls": np.bincount(call_owner, minlength=n),
        "n_write_calls": per_trajectory(flags(pc.equal(calls["tool_type"], "write")), call_owner),
    }


def _text_turns(flat: _Flat, tool: np.ndarray) -> np.ndarray:
    """Per message: whether a text turn (not a tool output, some text) ends there.

    A streamed turn (tau2 1.0's chunks: ``chunk_id`` set, ``is_final_chunk`` false until the
    last) is one speaker's: its chunks up to that speaker's final chunk (or the speaker's last
    message in the trajectory) are one turn, whatever the other speaker says in between; it
    counts once, where it ends, when any of its chunks has text. Any other message is a turn.
    """
    said = (
        np.asarray(
            pc.fill_null(pc.greater(pc.utf8_length(flat["content"]), 0), False).to_numpy(
                zero_copy_only=False
            )
        )
        & ~tool
    )
    more = np.asarray(
        pc.fill_null(
            pc.and_(pc.is_valid(flat["chunk_id"]), pc.equal(flat["is_final_chunk"], False)), False
        ).to_numpy(zero_copy_only=False)
    )
    n = len(said)
    if not more.any():  # no streamed turn: every message is a turn of its own
        return said
    role = np.asarray(pc.fill_null(pc.dictionary_encode(flat["role"]).indices, -1))
    order = np.lexsort((np.arange(n), role, flat.owner))  # each speaker's messages, in order
    ends = ~more[order]
    ends[-1] = True
    owner = flat.owner[order]
    ends[:-1] |= (owner[1:] != owner[:-1]) | (role[order][1:] != role[order][:-1])
    group = np.cumsum(ends) - ends
    group_said = np.bincount(group, weights=said[order], minlength=int(ends.sum())) > 0
    turns = np.empty(n, dtype=bool)
    turns[order] = ends & group_said[group]
    return turns & ~tool


def _tool_calls(
    items: Sequence[TrajectoryInput], messages: list[Raw], flat: _Flat
) -> tuple[pa.Table, np.ndarray]:
    """Tool-call rows with their results (the last tool message answering the call's id)."""
    lists = flat["tool_calls"]
    calls = pc.list_flatten(lists)
    parent = np.asarray(pc.list_parent_indices(lists).to_numpy(), dtype=np.int64)
    offsets = np.asarray(lists.offsets.to_numpy(), dtype=np.int64)
    owner = flat.owner[parent]
    call_id = pc.fill_null(calls.field("id"), "")
    names = calls.field("name")
    answer = _answers(flat, owner, call_id)
    content = flat["content"].take(answer)
    error = flat["error"].take(answer)
    said_error = pc.fill_null(pc.starts_with(content, "Error:"), False)
    kinds = [
        items[o].tool_kinds.get(name, "unknown")
        for o, name in zip(owner.tolist(), names.to_pylist(), strict=True)
    ]
    arguments = [
        orjson.dumps(call["arguments"]).decode()
        for m in messages
        for call in (m.get("tool_calls") or ())
    ]
    columns = {
        "traj_uid": flat.uids.take(owner),
        "msg_idx": parent - flat.start[parent],
        "call_idx": np.arange(len(parent)) - offsets[parent],
        "call_id": call_id,
        "name": names,
        "arguments": arguments,
        "requestor": pc.fill_null(calls.field("requestor"), "assistant"),
        "result": content,
        "is_error": pc.if_else(
            pc.is_null(answer), _NO_ANSWER, pc.if_else(pc.is_null(error), said_error, error)
        ),
        "tool_type": kinds,
    }
    return arrow_table("tool_calls", columns), owner


def _answers(flat: _Flat, owner: np.ndarray, call_id: pa.Array) -> pa.Array:
    """For each call, the row of the last tool message of its trajectory with its id (or null)."""
    tool = np.asarray(
        pc.fill_null(pc.equal(flat["role"], "tool"), False).to_numpy(zero_copy_only=False)
    )
    rows = np.flatnonzero(tool)
    results = (
        pa.table({"owner": flat.owner[rows], "id": flat["id"].take(rows), "row": rows})
        .group_by(["owner", "id"])
        .aggregate([("row", "max")])
    )
    asked = pa.table({"owner": owner, "id": call_id, "k": np.arange(len(owner))})
    joined = asked.join(results, keys=["owner", "id"], join_type="left outer").sort_by("k")
    return joined["row_max"].combine_chunks()


def _trajectories(
    items: Sequence[TrajectoryInput],
    uids: pa.Array,
    lengths: np.ndarray,
    counts: dict[str, np.ndarray],
) -> pa.Table:
    raws = [item.raw for item in items]
    infos = [t.get("reward_info") or _EMPTY for t in raws]
    columns: dict[str, Any] = {
        "traj_uid": uids,
        "run_id": [item.run_id for item in items],
        "task_uid": [item.task_uid for item in items],
        "task_id": [t["task_id"] for t in raws],
        "sim_id": [t["id"] for t in raws],
        "trial": [t.get("trial") for t in raws],
        "seed": [t.get("seed") for t in raws],
        "reward": [info.get("reward") for info in infos],
        "reward_breakdown": [_json(info.get("reward_breakdown")) for info in infos],
        "db_match": [(info.get("db_check") or _EMPTY).get("db_match") for info in infos],
        "termination_reason": [t["termination_reason"] for t in raws],
        "n_messages": lengths,
        **{name: counts[name] for name in ("n_turns", "n_tool_calls", "n_tool_errors")},
        "n_write_calls": counts["n_write_calls"],
        "prompt_tokens": counts["prompt_tokens"],
        "completion_tokens": counts["completion_tokens"],
        "agent_cost": [t.get("agent_cost") for t in raws],
        "user_cost": [t.get("user_cost") for t in raws],
        "duration": [t.get("duration") for t in raws],
        "start_time": [t.get("start_time") for t in raws],
        "error_modes": [_json(t.get("error_modes")) for t in raws],
        "first_divergent_write": [
            _json((info.get("diff") or _EMPTY).get("first_divergent_write")) for info in infos
        ],
        "reward_info": [_json(t.get("reward_info")) for t in raws],
        "extra": [
            _json({k: v for k, v in t.items() if k not in _TRAJ_COLUMNS} or None) for t in raws
        ],
    }
    return arrow_table("trajectories", columns)


@cache
def _arrow_types(name: str) -> dict[str, pa.DataType]:
    """The Arrow type of each column of a warehouse table (JSON columns: Arrow's JSON type)."""
    table = TABLE_BY_NAME[name]
    schema = table.arrow(new_columns(name)).schema
    return {
        field.name: pa.json_() if kind == "JSON" else field.type
        for field, (_, kind) in zip(schema, table.columns, strict=True)
    }


def arrow_table(name: str, columns: Mapping[str, Any]) -> pa.Table:
    """An Arrow table typed as the warehouse table ``name`` (no type inference, which is slow).

    JSON columns get Arrow's JSON type, which DuckDB takes as JSON without parsing it again
    (every JSON value here comes from orjson, so it is valid).
    """
    types = _arrow_types(name)
    arrays = {}
    for column, values in columns.items():
        kind = types[column]
        if isinstance(values, pa.Array):
            arrays[column] = values if values.type == kind else values.cast(kind)
        else:
            arrays[column] = pa.array(values, kind)
    return pa.table(arrays)
