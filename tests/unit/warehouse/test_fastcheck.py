"""The fast first pass accepts only what the pydantic contract accepts, and ingest validation
(fast pass, else pydantic) rejects exactly what pydantic rejects, with the same message."""

from __future__ import annotations

import copy
import json
import random
from pathlib import Path
from typing import Any

import orjson
import pytest
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from taskforge.contracts import Message, Trajectory, TrajectoryRecord
from taskforge.errors import DataError
from taskforge.warehouse.bench import synthetic_shards
from taskforge.warehouse.ingest.base import BadRecord, check_record, validate_record
from taskforge.warehouse.ingest.fastcheck import fast_check
from tests.unit.warehouse.conftest import episodes

RESULTS = "gpt-4.1_retail_test_1trial.json"
VALUES: list[Any] = [
    None,
    0,
    1,
    -7,
    2**63,
    1.5,
    1.0,
    True,
    False,
    "",
    "x",
    "3",
    "1.5",
    "true",
    "tool",
    "assistant",
    "user_stop",
    "DB",
    [],
    [1],
    ["DB"],
    {},
    {"a": 1},
    {"id": "c1", "name": "t", "arguments": {}},
]
"""Replacement values: every JSON type, and strings pydantic would convert or accept."""


@pytest.fixture(scope="module")
def records(tmp_path_factory: pytest.TempPathFactory, seed_tasks: list) -> list[dict[str, Any]]:  # type: ignore[type-arg]
    """Valid trajectory records: synthetic Retail ones and real evaluator output."""
    folder = tmp_path_factory.mktemp("shards")
    paths = synthetic_shards(folder, 60, seed=3, shard_size=60)["paths"]
    lines = [orjson.loads(line) for line in Path(paths[0]).read_bytes().splitlines()]
    out = [r for r in lines if r["type"] == "trajectory"]
    for traj in episodes(seed_tasks[:3], 2):
        data = traj.model_dump(mode="json", exclude_none=True)
        out.append({"type": "trajectory", "run_id": "run-a", "trajectory": data})
    return out


def _accepts(model: type[BaseModel], raw: Any) -> bool:
    try:
        model.model_validate(raw)
    except ValidationError:
        return False
    return True


def test_valid_records_take_the_fast_path(records: list[dict[str, Any]], tau2_dir: Path) -> None:
    check = fast_check(TrajectoryRecord)
    assert records and all(check(r) and _accepts(TrajectoryRecord, r) for r in records)
    sims = json.loads((tau2_dir / "results" / RESULTS).read_text())["simulations"]
    assert all(fast_check(Trajectory)(sim) for sim in sims)


def _nodes(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[tuple[Any, ...], Any]]:
    """Every dict and list inside ``value``, with its path."""
    if not isinstance(value, dict | list):
        return []
    found = [(path, value)]
    for key, child in value.items() if isinstance(value, dict) else enumerate(value):
        found += _nodes(child, (*path, key))
    return found


def _mutate(record: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    """One random corruption: a value of another type, a missing key, or an unknown key."""
    out = copy.deepcopy(record)
    _, node = rng.choice(_nodes(out))
    what = rng.random()
    if isinstance(node, list):
        if node and what < 0.7:
            node[rng.randrange(len(node))] = copy.deepcopy(rng.choice(VALUES))
        else:
            node.append(copy.deepcopy(rng.choice(VALUES)))
    elif node and what < 0.55:
        node[rng.choice(list(node))] = copy.deepcopy(rng.choice(VALUES))
    elif node and what < 0.8:
        del node[rng.choice(list(node))]
    else:
        node[rng.choice(["extra_field", "id", "error", "usage", "tool_calls", "x"])] = (
            copy.deepcopy(rng.choice(VALUES))
        )
    return out


def test_corrupted_records_are_rejected_exactly_as_pydantic_rejects_them(
    records: list[dict[str, Any]],
) -> None:
    rng = random.Random(11)
    check = fast_check(TrajectoryRecord)
    outcomes = {"rejected": 0, "fast": 0, "pydantic_only": 0}
    for i in range(3000):
        raw = orjson.loads(orjson.dumps(_mutate(rng.choice(records), rng)))
        valid = _accepts(TrajectoryRecord, raw)
        if check(raw):
            assert valid, f"fast path accepted what the contract rejects: {raw}"
        bad: list[BadRecord] = []
        got = check_record(TrajectoryRecord, raw, "f.jsonl", i, True, bad)
        assert (got is not None) == valid and len(bad) == (not valid)
        if not valid:  # the same reason as validating with pydantic alone
            alone: list[BadRecord] = []
            validate_record(TrajectoryRecord, raw, "f.jsonl", i, True, alone)
            assert bad[0].reason == alone[0].reason and "field " in bad[0].reason
            with pytest.raises(DataError, match="field "):
                check_record(TrajectoryRecord, raw, "f.jsonl", i, False, [])
        outcomes["rejected" if not valid else "fast" if got is raw else "pydantic_only"] += 1
    assert outcomes["rejected"] > 1000 and outcomes["fast"] > 200, outcomes


@pytest.mark.parametrize(
    ("change", "fast", "valid"),
    [
        (lambda t: t["messages"][0].update(turn_idx="3"), False, True),
        (lambda t: t["messages"][0].update(turn_idx=True), False, True),
        (lambda t: t["messages"][0].update(cost=2), True, True),
        (lambda t: t.update(trial=1.0), False, True),
        (lambda t: t.update(termination_reason="gave_up"), False, False),
        (lambda t: t["messages"][0].update(role="robot"), False, False),
        (lambda t: t["messages"][0].update(role="tool"), False, False),  # no id
        (lambda t: t["messages"][0].update(role="tool", id="c"), True, True),
        (lambda t: t["messages"][0].update(surprise=1), False, False),
        (lambda t: t.pop("task_id"), False, False),
        (lambda t: t["messages"].append({"role": "user", "content": 5}), False, False),
    ],
)
def test_conversions_go_to_pydantic(
    records: list[dict[str, Any]], change: Any, fast: bool, valid: bool
) -> None:
    raw = copy.deepcopy(records[0]["trajectory"])
    change(raw)
    assert fast_check(Trajectory)(raw) is fast
    assert _accepts(Trajectory, raw) is valid
    got = check_record(Trajectory, raw, "f", 0, True, [])
    assert (got is raw) is fast and (got is not None) is valid


class _Guarded(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(description="A name.")

    @field_validator("name")
    @classmethod
    def _short(cls, value: str) -> str:
        if len(value) > 3:
            raise ValueError("too long")
        return value


class _Bounded(BaseModel):
    model_config = ConfigDict(extra="forbid")
    n: int = Field(ge=0, description="A count.")


class _Holder(BaseModel):
    model_config = ConfigDict(extra="forbid")
    inner: _Bounded = Field(description="A nested model with a constraint.")
    note: str | None = Field(default=None, description="Free text.")


def test_what_is_not_compiled_is_left_to_pydantic() -> None:
    assert fast_check(_Guarded)({"name": "abc"}) is False  # a validator it does not know
    assert fast_check(_Bounded)({"n": 1}) is False  # a constraint
    assert fast_check(_Holder)({"inner": {"n": 1}}) is False
    assert fast_check(_Holder)({"note": "x", "inner": {"n": -1}}) is False
    assert fast_check(Message)({"role": "user", "content": "hi"}) is True


def test_a_record_of_a_new_shape_is_planned_each_time() -> None:
    check = fast_check(Message)
    shapes = [{"role": "user", f"k{i}": 1} for i in range(3)]
    assert not any(check(m) for m in shapes)
    assert check({"role": "assistant", "content": None, "turn_idx": 2}) is True
    assert check({"role": "assistant", "content": None, "turn_idx": "2"}) is False
