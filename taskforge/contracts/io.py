"""Reading contract files with errors that name the file, the record and the field."""

from __future__ import annotations

import json
import os
import tempfile
import warnings
from pathlib import Path
from typing import Any, TypeVar

import orjson
from pydantic import BaseModel, ValidationError

from taskforge.contracts.task import Task
from taskforge.contracts.trajectory import Tau2Results, Trajectory
from taskforge.errors import DataError, DataWarning, describe_validation_error

M = TypeVar("M", bound=BaseModel)


def read_json(path: str | Path) -> Any:
    """Parse a JSON file; DataError when it is missing or malformed."""
    path = Path(path)
    try:
        return orjson.loads(path.read_bytes())
    except FileNotFoundError as exc:
        raise DataError(f"{path}: no such file") from exc
    except IsADirectoryError as exc:
        raise DataError(f"{path}: is a directory, expected a JSON file") from exc
    except orjson.JSONDecodeError as exc:
        raise DataError(f"{path}: not valid JSON ({exc})") from exc


def parse_records(data: Any, model: type[M], source: str, lenient: bool = False) -> list[M]:
    """Validate a JSON list of records, naming the first bad record and field.

    ``lenient`` (for files another tool wrote, such as tau2's): a field the contract does not
    declare is not an error but a :class:`DataWarning`, one per field naming the first record
    that has it, and is not read.
    """
    if not isinstance(data, list):
        raise DataError(f"{source}: expected a JSON list of {model.__name__} records")
    out: list[M] = []
    unknown: dict[str, str] = {}
    for index, item in enumerate(data):
        try:
            out.append(model.model_validate(item))
            continue
        except ValidationError as exc:
            rid = item.get("id") if isinstance(item, dict) else None
            record = f"#{index}" + (f" (id {rid!r})" if rid is not None else "")
            parsed = _without_unknown(model, item, exc) if lenient else None
            if parsed is None:
                raise DataError(describe_validation_error(source, exc, record)) from exc
        out.append(parsed[0])
        for name in parsed[1]:
            unknown.setdefault(name, record)
    for name, record in unknown.items():
        warnings.warn(
            DataWarning(f"{source}: field {name} is in no known version (first in record "
                        f"{record}); not read"),
            stacklevel=2,
        )  # fmt: skip
    return out


def _without_unknown(model: type[M], item: Any, exc: ValidationError) -> tuple[M, list[str]] | None:
    """``item`` validated without the fields ``exc`` says the contract does not declare, and
    their names (None when something else is wrong with it)."""
    errors = exc.errors()
    if not all(e["type"] == "extra_forbidden" for e in errors):
        return None
    copy = orjson.loads(orjson.dumps(item))
    names = []
    for error in errors:
        *parents, last = error["loc"]
        target = copy
        for step in parents:
            target = target[step]
        del target[last]
        names.append(".".join("*" if isinstance(s, int) else str(s) for s in error["loc"]))
    try:
        return model.model_validate(copy), names
    except ValidationError:
        return None


def load_tasks(path: str | Path) -> list[Task]:
    """Tasks from a tau2-style ``tasks.json`` (a JSON list), or from a results file's tasks
    (a field no contract declares: a :class:`DataWarning`, not read)."""
    data = read_json(path)
    if isinstance(data, dict) and "tasks" in data:
        data = data["tasks"]
    tasks = parse_records(data, Task, str(path), lenient=True)
    seen: set[str] = set()
    for task in tasks:
        if task.id in seen:
            raise DataError(f"{path}: record id {task.id!r}: field id: duplicate task id")
        seen.add(task.id)
    return tasks


def load_results(path: str | Path) -> Tau2Results:
    """A tau2 results file (single-file format); unknown task and simulation fields are a
    :class:`DataWarning` each, not read."""
    data = read_json(path)
    if not isinstance(data, dict):
        raise DataError(f"{path}: expected a tau2 results object")
    for key in ("info", "tasks", "simulations"):
        if key not in data:
            raise DataError(f"{path}: field {key}: missing (not a tau2 results file?)")
    tasks = parse_records(data["tasks"], Task, f"{path} tasks", lenient=True)
    sims = parse_records(data["simulations"], Trajectory, f"{path} simulations", lenient=True)
    try:  # parsed records are taken as they are, not validated twice
        return Tau2Results.model_validate({**data, "tasks": tasks, "simulations": sims})
    except ValidationError as exc:
        raise DataError(describe_validation_error(str(path), exc)) from exc


def write_tasks(path: Path, tasks: list[Task]) -> None:
    """Tasks as a JSON list (byte-identical for the same tasks), written atomically."""
    data = [t.model_dump(mode="json", exclude_none=True) for t in tasks]
    write_atomic(path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def write_atomic(path: Path, content: str | bytes) -> None:
    """Write ``content`` to ``path`` through a temporary file beside it, then rename it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        data = content.encode("utf-8") if isinstance(content, str) else content
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, 0o644)  # mkstemp makes it 0600; a dataset file should be readable
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
