"""Column-wise flattening gives, row for row, what a plain per-message loop gives."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pytest

from taskforge.contracts.base import SCHEMA_VERSION
from taskforge.errors import DataError
from taskforge.warehouse import Warehouse, get_adapter, ingest_paths, input_files
from taskforge.warehouse.bench import TOOL_KINDS, synthetic_shards
from taskforge.warehouse.rows import TrajectoryInput, trajectory_tables, trajectory_uid
from tests.unit.warehouse.conftest import episodes, odd_trajectory

MSG_COLUMNS = {"role", "content", "turn_idx", "timestamp", "cost", "tool_calls", "id"}
MSG_COLUMNS |= {"requestor", "error", "usage"}
TRAJ_COLUMNS = {"id", "task_id", "trial", "seed", "termination_reason", "agent_cost"}
TRAJ_COLUMNS |= {"user_cost", "duration", "start_time", "error_modes", "reward_info", "messages"}


def _json(value: Any) -> Any:
    return None if value is None else orjson.loads(orjson.dumps(value))


def _reference(item: TrajectoryInput) -> dict[str, list[dict[str, Any]]]:
    """The rows of one trajectory, message by message (what ingest stored before)."""
    t, messages = item.raw, item.raw["messages"]
    results = {m.get("id"): m for m in messages if m["role"] == "tool"}
    msgs, calls = [], []
    for idx, m in enumerate(messages):
        usage = m.get("usage")
        tokens = {k: v for k, v in (usage or {}).items() if type(v) is int and abs(v) < 2**63}
        extra = {k: v for k, v in m.items() if k not in MSG_COLUMNS}
        if extra.get("schema_version") == SCHEMA_VERSION:  # the contract's default
            del extra["schema_version"]
        two = {"prompt_tokens", "completion_tokens"}
        if usage is not None and not set(usage) == set(tokens) & two == two:
            extra["usage"] = usage  # not just the two counts: kept whole
        msgs.append(
            {"traj_uid": item.uid, "idx": idx, "role": m["role"], "content": m.get("content")}
            | {"turn_idx": m.get("turn_idx"), "timestamp": m.get("timestamp")}
            | {"cost": m.get("cost"), "prompt_tokens": tokens.get("prompt_tokens")}
            | {"completion_tokens": tokens.get("completion_tokens")}
            | {"n_tool_calls": len(m.get("tool_calls") or ()), "extra": extra or None}
            | {"tool_call_id": m.get("id"), "requestor": m.get("requestor")}
            | {"error": m.get("error")}
        )
        for position, call in enumerate(m.get("tool_calls") or ()):
            result = results.get(call.get("id", ""))
            error = None
            if result is not None:
                error = result.get("error")
                error = bool(error) if error is not None else (result.get("content") or "")
                error = error if isinstance(error, bool) else error.startswith("Error:")
            calls.append(
                {"traj_uid": item.uid, "msg_idx": idx, "call_idx": position}
                | {"call_id": call.get("id", ""), "name": call["name"]}
                | {"arguments": call["arguments"], "requestor": call.get("requestor", "assistant")}
                | {"result": result.get("content") if result else None, "is_error": error}
                | {"tool_type": item.tool_kinds.get(call["name"], "unknown")}
            )
    info = t.get("reward_info") or {}
    said = [m for m in msgs if m["content"] and m["role"] != "tool"]
    row = {
        "traj_uid": item.uid,
        "run_id": item.run_id,
        "task_uid": item.task_uid,
        "task_id": t["task_id"],
        "sim_id": t["id"],
        "trial": t.get("trial"),
        "seed": t.get("seed"),
        "reward": info.get("reward"),
        "reward_breakdown": _json(info.get("reward_breakdown")),
        "db_match": (info.get("db_check") or {}).get("db_match"),
        "termination_reason": t["termination_reason"],
        "n_messages": len(messages),
        "n_turns": len(said),
        "n_tool_calls": len(calls),
        "n_tool_errors": sum(1 for m in messages if m["role"] == "tool" and m.get("error")),
        "n_write_calls": sum(1 for c in calls if c["tool_type"] == "write"),
        "prompt_tokens": sum(filter(None, (m["prompt_tokens"] for m in msgs))),
        "completion_tokens": sum(filter(None, (m["completion_tokens"] for m in msgs))),
        "agent_cost": t.get("agent_cost"),
        "user_cost": t.get("user_cost"),
        "duration": t.get("duration"),
        "start_time": t.get("start_time"),
        "error_modes": _json(t.get("error_modes")),
        "first_divergent_write": _json((info.get("diff") or {}).get("first_divergent_write")),
        "reward_info": _json(t.get("reward_info")),
        "extra": {k: v for k, v in t.items() if k not in TRAJ_COLUMNS} or None,
    }
    return {"trajectories": [row], "messages": msgs, "tool_calls": calls}


def _rows(table: pa.Table) -> list[dict[str, Any]]:
    """Rows with JSON columns decoded (so JSON compares by value)."""
    rows = table.to_pylist()
    for name, kind in zip(table.column_names, table.schema.types, strict=True):
        if isinstance(kind, pa.BaseExtensionType):
            for row in rows:
                row[name] = _json(orjson.loads(row[name])) if row[name] is not None else None
    return rows


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory, seed_tasks: list) -> list[TrajectoryInput]:  # type: ignore[type-arg]
    rng = random.Random(4)
    raws = [odd_trajectory(rng, i) for i in range(150)]
    raws += [t.model_dump(mode="json", exclude_none=True) for t in episodes(seed_tasks[:3], 2)]
    folder = tmp_path_factory.mktemp("shards")
    path = synthetic_shards(folder, 40, seed=9, shard_size=40)["paths"][0]
    lines = [orjson.loads(line) for line in Path(path).read_bytes().splitlines()]
    raws += [r["trajectory"] for r in lines if r["type"] == "trajectory"]
    kinds = [dict(TOOL_KINDS), {}]
    return [
        TrajectoryInput(trajectory_uid("run", raw), "run", f"task-{i % 3}", raw, kinds[i % 2])
        for i, raw in enumerate(raws)
    ]


def test_columns_match_the_message_by_message_rows(inputs: list[TrajectoryInput]) -> None:
    tables = trajectory_tables(inputs)
    expected: dict[str, list[dict[str, Any]]] = {name: [] for name in tables}
    for item in inputs:
        for name, rows in _reference(item).items():
            expected[name] += rows
    for name, table in tables.items():
        assert _rows(table) == expected[name], name
    assert tables["tool_calls"].num_rows > 100 and tables["messages"].num_rows > 1000


def test_no_trajectories_no_rows() -> None:
    tables = trajectory_tables([])
    assert {name: t.num_rows for name, t in tables.items()} == dict.fromkeys(tables, 0)
    empty = TrajectoryInput(
        "u", "r", None, odd_trajectory(random.Random(0), 0) | {"messages": []}, {}
    )
    assert trajectory_tables([empty])["trajectories"].num_rows == 1


def _shard(path: Path, change: Any) -> Path:
    run = {"run_id": "run-x", "source": "taskforge"}
    traj = {"id": "s1", "task_id": "t", "termination_reason": "user_stop"}
    traj["messages"] = [{"role": "user", "content": "hi", "turn_idx": 0}]
    change(traj)
    lines = [
        {"type": "run", "run": run},
        {
            "type": "task",
            "run_id": "run-x",
            "task": {"id": "t", "user_scenario": {"instructions": "x"}},
        },
        {"type": "trajectory", "run_id": "run-x", "trajectory": traj},
    ]
    path.write_bytes(b"\n".join(orjson.dumps(line) for line in lines) + b"\n")
    return path


def _ingest(wh: Path, path: Path) -> list[Any]:
    adapter = get_adapter("jsonl")
    return ingest_paths(wh, adapter, input_files(adapter, [path]))


def test_values_pydantic_converts_are_stored_converted(tmp_path: Path) -> None:
    path = _shard(tmp_path / "s.jsonl", lambda t: t["messages"][0].update(turn_idx="3", cost="0.5"))
    _ingest(tmp_path / "w.duckdb", path)
    with Warehouse.open(tmp_path / "w.duckdb", read_only=True) as wh:
        row = wh.query("SELECT turn_idx, cost FROM messages").to_dicts()
        uid = wh.scalar("SELECT traj_uid FROM trajectories")
    assert row == [{"turn_idx": 3, "cost": 0.5}]
    raw = orjson.loads(path.read_bytes().splitlines()[2])["trajectory"]
    assert uid == trajectory_uid("run-x", raw)  # keyed by the record as written


def test_a_value_too_big_for_its_column_names_the_file(tmp_path: Path) -> None:
    path = _shard(tmp_path / "s.jsonl", lambda t: t["messages"][0].update(turn_idx=2**40))
    with pytest.raises(DataError, match=r"s\.jsonl: a value does not fit"):
        _ingest(tmp_path / "w.duckdb", path)


def test_an_episode_played_again_has_the_same_key_whatever_its_wall_clock() -> None:
    raw = {
        "id": "run:t1:0",
        "task_id": "t1",
        "start_time": "2026-01-01T00:00:00",
        "duration": 1.5,
        "messages": [{"role": "user", "content": "hi", "timestamp": "2026-01-01T00:00:01"}],
    }
    later = {
        **raw,
        "start_time": "2026-06-01T10:00:00",
        "end_time": "2026-06-01T10:00:03",
        "duration": 3.0,
        "messages": [{**raw["messages"][0], "timestamp": "x", "generation_time_seconds": 0.2}],
    }
    worded = {**raw, "messages": [{"role": "user", "content": "hello"}]}
    assert trajectory_uid("run", later) == trajectory_uid("run", raw)
    assert trajectory_uid("run", worded) != trajectory_uid("run", raw)
    assert trajectory_uid("other-run", raw) != trajectory_uid("run", raw)


def test_an_episode_stored_under_an_older_key_is_not_stored_twice(tmp_path: Path) -> None:
    """A warehouse keyed before wall-clock fields left the key: the same episode landed again
    from another file (its run and id stored) adds nothing; another episode still lands."""
    wh_path = tmp_path / "w.duckdb"
    _ingest(wh_path, _shard(tmp_path / "a.jsonl", lambda t: t.update(start_time="2026-01-01")))
    with Warehouse.open(wh_path) as wh:
        for table in ("trajectories", "messages"):
            wh.con.execute(f"UPDATE {table} SET traj_uid = 'traj-older-key'")
    again = _shard(tmp_path / "b.jsonl", lambda t: t.update(start_time="2026-02-02"))
    other = _shard(tmp_path / "c.jsonl", lambda t: t.update(id="s2"))
    results = _ingest(wh_path, again) + _ingest(wh_path, other)
    with Warehouse.open(wh_path, read_only=True) as wh:
        rows = wh.query("SELECT sim_id, traj_uid FROM trajectories ORDER BY sim_id").rows()
        n_messages = wh.scalar("SELECT count(*) FROM messages")
    assert [r.n_new for r in results] == [0, 1]
    assert [sim for sim, _ in rows] == ["s1", "s2"] and rows[0][1] == "traj-older-key"
    assert n_messages == 2
