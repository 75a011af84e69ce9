"""The Hugging Face export's columns, derived from the contracts (PoolEntry and Task).

Scalar fields become typed columns; lists of strings become string lists; every nested
structure (user scenario, evaluation criteria, lineage, certificate, ...) is a JSON string,
because nested structs get merged across rows by Arrow and differ between tasks.
"""

from __future__ import annotations

import enum
import types
import typing
from dataclasses import dataclass
from typing import Any, Literal

import orjson
import pyarrow as pa
from pydantic import BaseModel

from taskforge.contracts import EvaluationCriteria, PoolEntry, Task, TaskPool

JSON = "json"
"""Kind of a column holding a JSON string."""

_ARROW = {
    "string": pa.string(),
    "int64": pa.int64(),
    "float64": pa.float64(),
    "bool": pa.bool_(),
    "list<string>": pa.list_(pa.string()),
    JSON: pa.string(),
}


@dataclass(frozen=True)
class Column:
    """One column: name, kind (string, int64, float64, bool, list<string>, json), meaning."""

    name: str
    kind: str
    description: str

    @property
    def arrow(self) -> pa.DataType:
        """Its Arrow type."""
        return _ARROW[self.kind]

    def yaml(self) -> dict[str, str]:
        """Its entry in a dataset card's ``dataset_info.features``."""
        if self.kind == "list<string>":
            return {"name": self.name, "sequence": "string"}
        return {"name": self.name, "dtype": "string" if self.kind == JSON else self.kind}


def kind_of(annotation: Any) -> str:
    """Column kind of a contract field annotation."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return kind_of(args[0]) if len(args) == 1 else JSON
    if origin is Literal or (isinstance(annotation, type) and issubclass(annotation, enum.Enum)):
        return "string"
    if origin is list and typing.get_args(annotation) == (str,):
        return "list<string>"
    scalars = {str: "string", int: "int64", float: "float64", bool: "bool"}
    return scalars.get(annotation, JSON)


def _field(model: type[BaseModel], name: str, as_name: str | None = None) -> Column:
    info = model.model_fields[name]
    kind = kind_of(info.annotation)
    return Column(as_name or name, kind, info.description or "")


_ENTRY_FIELDS = [f for f in PoolEntry.model_fields if f not in ("status", "reason")]
_TASK_FIELDS = [f for f in Task.model_fields if f not in ("id", "origin", "pattern")]


def columns() -> list[Column]:
    """Every column of the export, in order."""
    return [
        _field(PoolEntry, "task_id"),
        Column("pool", "string", TaskPool.model_fields["name"].description or ""),
        *(_field(PoolEntry, f) for f in _ENTRY_FIELDS if f != "task_id"),
        Column(
            "reward_basis",
            "list<string>",
            EvaluationCriteria.model_fields["reward_basis"].description or "",
        ),
        Column("n_actions", "int64", "Number of gold actions."),
        *(_field(Task, f) for f in _TASK_FIELDS),
    ]


def arrow_schema() -> pa.Schema:
    """The Arrow schema of the parquet shards."""
    return pa.schema([pa.field(c.name, c.arrow) for c in columns()])


def import_datasets() -> Any:
    """Hugging Face ``datasets``; a clear error when it is missing (a folder named
    ``datasets``, like this repository's data folder, can stand in its way as a namespace
    package)."""
    import importlib

    from taskforge.errors import TaskforgeError

    try:
        module = importlib.import_module("datasets")
    except ImportError:
        module = None
    if module is None or not hasattr(module, "load_dataset"):
        raise TaskforgeError("Hugging Face datasets is not installed: pip install 'taskforge[hf]'")
    return module


def hf_features() -> Any:
    """The ``datasets.Features`` that ``load_dataset`` gives the export (needs ``datasets``)."""
    datasets = import_datasets()

    def feature(kind: str) -> Any:
        if kind == "list<string>":
            return datasets.Sequence(datasets.Value("string"))
        return datasets.Value("string" if kind == JSON else kind)

    return datasets.Features({c.name: feature(c.kind) for c in columns()})


def _json(value: Any) -> str | None:
    return None if value is None else orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


def task_row(pool: TaskPool, entry: PoolEntry, task: Task) -> dict[str, Any]:
    """One row: the entry's scalars, the task's fields (nested ones as JSON strings)."""
    data = task.to_json_dict()
    criteria = task.evaluation_criteria or EvaluationCriteria()
    row: dict[str, Any] = {"task_id": task.id, "pool": pool.name}
    row.update({f: getattr(entry, f) for f in _ENTRY_FIELDS if f != "task_id"})
    row["reward_basis"] = [r.value for r in criteria.reward_basis]
    row["n_actions"] = len(task.gold_actions())
    kinds = {c.name: c.kind for c in columns()}
    for name in _TASK_FIELDS:
        value = data.get(name)
        row[name] = _json(value) if kinds[name] == JSON else value
    return row


def row_to_task(row: dict[str, Any]) -> Task:
    """The task a row holds (inverse of :func:`task_row`)."""
    kinds = {c.name: c.kind for c in columns()}
    data: dict[str, Any] = {
        "id": row["task_id"],
        "origin": row["origin"],
        "pattern": row["pattern"],
    }
    for name in _TASK_FIELDS:
        value = row.get(name)
        data[name] = orjson.loads(value) if kinds[name] == JSON and value is not None else value
    return Task.model_validate({k: v for k, v in data.items() if v is not None})
