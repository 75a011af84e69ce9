"""What every ingest adapter produces, and how a parsed file lands: all of it or none."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Protocol

import orjson
import pyarrow as pa
from pydantic import ValidationError

from taskforge.contracts import Run, Task, Trajectory
from taskforge.env.domains import get_domain
from taskforge.errors import DataError, TaskforgeError, describe_validation_error
from taskforge.warehouse.rows import (
    TrajectoryRows,
    add_run,
    add_task,
    new_columns,
    task_uid,
    trajectory_uid,
)
from taskforge.warehouse.schema import TABLE_BY_NAME
from taskforge.warehouse.store import Warehouse, run_sql


@dataclass
class BadRecord:
    """A record that failed validation (quarantined under --skip-bad)."""

    index: int
    record_id: str | None
    reason: str
    raw: Any


@dataclass
class Batch:
    """Everything parsed from one input file, before it lands."""

    path: Path
    content_hash: str
    skip_bad: bool = False
    runs: list[Run] = field(default_factory=list)
    tasks: list[tuple[str, Task]] = field(default_factory=list)
    trajectories: list[tuple[str, dict[str, Any], Trajectory]] = field(default_factory=list)
    bad: list[BadRecord] = field(default_factory=list)


@dataclass
class FileResult:
    """What ingesting one file did."""

    path: str
    n_trajectories: int
    n_new: int
    n_quarantined: int
    already_ingested: bool = False


class Adapter(Protocol):
    """Turns one kind of input into batches."""

    name: str

    def files(self, path: Path) -> list[Path]:
        """The input files under ``path`` (a file or a folder)."""
        ...

    def parse(self, path: Path, skip_bad: bool) -> Batch:
        """Parse and validate one input; DataError on the first bad record unless skip_bad."""
        ...


def validate_record(
    model: type[Any], raw: Any, where: str, index: int, skip_bad: bool, bad: list[BadRecord]
) -> Any | None:
    """Validate one record; on failure raise (naming file, record, field) or quarantine it."""
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        rid = raw.get("id") if isinstance(raw, dict) else None
        label = f"#{index}" + (f" (id {rid!r})" if rid is not None else "")
        reason = describe_validation_error(where, exc, label)
        if not skip_bad:
            raise DataError(reason) from exc
        bad.append(BadRecord(index, str(rid) if rid is not None else None, reason, raw))
        return None


def already_ingested(wh: Warehouse, path: Path, content_hash: str) -> bool:
    """Whether this exact file (path and content) has landed before."""
    return bool(
        wh.scalar(
            "SELECT count(*) FROM ingested_files WHERE path = ? AND content_hash = ?",
            [str(path), content_hash],
        )
    )


def land(wh: Warehouse, batch: Batch, adapter: str) -> FileResult:
    """Insert a parsed file in one transaction; rows whose keys exist are left alone."""
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    staged = _stage(wh, batch, now)
    with wh.transaction() as con:
        for name in ("runs", "tasks", "run_tasks"):
            _insert_new(con, name, staged[name])
        n_new = _insert_trajectories(con, staged)
        _insert_all(con, "quarantine", staged["quarantine"])
        _insert_all(con, "ingested_files", _file_row(batch, adapter, n_new, now))
    return FileResult(str(batch.path), len(batch.trajectories), n_new, len(batch.bad))


def _stage(wh: Warehouse, batch: Batch, now: datetime) -> dict[str, pa.Table]:
    runs, tasks, links = new_columns("runs"), new_columns("tasks"), new_columns("run_tasks")
    domains = {r.run_id: r.domain for r in batch.runs}
    uids: dict[tuple[str, str], str] = {}
    for run in batch.runs:
        add_run(runs, run, str(batch.path), now)
    for run_id, task in batch.tasks:
        domain = domains.get(run_id) or _stored_domain(wh, run_id)
        uid = task_uid(task, domain)
        uids[(run_id, task.id)] = uid
        add_task(tasks, task, uid, domain)
        for name, value in (("run_id", run_id), ("task_id", task.id), ("task_uid", uid)):
            links[name].append(value)
    rows = _trajectory_rows(wh, batch, domains, uids)
    return {
        "runs": pa.table(runs),
        "tasks": pa.table(tasks),
        "run_tasks": pa.table(links),
        "trajectories": pa.table(rows.trajectories),
        "messages": pa.table(rows.messages),
        "tool_calls": pa.table(rows.tool_calls),
        "quarantine": _quarantine(batch, now),
    }


def _trajectory_rows(
    wh: Warehouse, batch: Batch, domains: dict[str, str], uids: dict[tuple[str, str], str]
) -> TrajectoryRows:
    rows: TrajectoryRows | None = None
    seen: set[str] = set()
    for index, (run_id, raw, traj) in enumerate(batch.trajectories):
        domain = domains.get(run_id) or _stored_domain(wh, run_id)
        rows = rows or TrajectoryRows(_tool_kinds(domain))
        uid = trajectory_uid(run_id, raw)
        task = uids.get((run_id, traj.task_id)) or _stored_task_uid(wh, run_id, traj.task_id)
        if task is None:
            _unknown_task(batch, index, run_id, traj, raw)
            continue
        if uid not in seen:
            seen.add(uid)
            rows.add(uid, run_id, task, traj)
    return rows or TrajectoryRows({})


def _unknown_task(batch: Batch, index: int, run_id: str, traj: Trajectory, raw: Any) -> None:
    reason = f"{batch.path}: record #{index} (id {traj.id!r}): field task_id: unknown task "
    reason += f"{traj.task_id!r} for run {run_id}"
    if not batch.skip_bad:
        raise DataError(reason)
    batch.bad.append(BadRecord(index, traj.id, reason, raw))


def _stored_domain(wh: Warehouse, run_id: str) -> str:
    domain = wh.scalar("SELECT domain FROM runs WHERE run_id = ?", [run_id])
    if domain is None:
        raise DataError(f"unknown run {run_id!r}: its run record is neither in the file nor stored")
    return str(domain)


def _stored_task_uid(wh: Warehouse, run_id: str, task_id: str) -> str | None:
    value = wh.scalar(
        "SELECT task_uid FROM run_tasks WHERE run_id = ? AND task_id = ?", [run_id, task_id]
    )
    return None if value is None else str(value)


def _tool_kinds(domain: str) -> dict[str, str]:
    try:
        specs = get_domain(domain).toolkit_cls.specs
    except TaskforgeError:
        return {}
    return {name: spec.kind.value for name, spec in specs.items()}


def _quarantine(batch: Batch, now: datetime) -> pa.Table:
    cols = new_columns("quarantine")
    for bad in batch.bad:
        values = (
            str(batch.path),
            bad.index,
            bad.record_id,
            bad.reason,
            orjson.dumps(bad.raw, default=str).decode(),
            now,
        )
        for name, value in zip(cols, values, strict=True):
            cols[name].append(value)
    return pa.table(cols)


def _file_row(batch: Batch, adapter: str, n_new: int, now: datetime) -> pa.Table:
    return pa.table(
        {
            "path": [str(batch.path)],
            "content_hash": [batch.content_hash],
            "adapter": [adapter],
            "n_trajectories": [len(batch.trajectories)],
            "n_new": [n_new],
            "ingested_at": [now],
        }
    )


def _select(table: str) -> str:
    cols = TABLE_BY_NAME[table].columns
    return ", ".join(f"{n}::{t} AS {n}" if t == "JSON" else n for n, t in cols)


def _insert_all(con: Any, table: str, staged: pa.Table) -> None:
    if staged.num_rows:
        con.register("staged", staged)
        run_sql(con, f"INSERT INTO {table} SELECT {_select(table)} FROM staged")
        con.unregister("staged")


def _insert_new(con: Any, table: str, staged: pa.Table) -> None:
    """Insert the staged rows whose primary key is not stored yet (first one wins)."""
    if not staged.num_rows:
        return
    key = ", ".join(TABLE_BY_NAME[table].primary_key)
    con.register("staged", staged)
    run_sql(
        con,
        f"INSERT INTO {table} SELECT {_select(table)} FROM staged "
        f"WHERE ({key}) NOT IN (SELECT ({key}) FROM {table}) "
        f"QUALIFY row_number() OVER (PARTITION BY {key}) = 1",
    )
    con.unregister("staged")


def _insert_trajectories(con: Any, staged: dict[str, pa.Table]) -> int:
    trajectories = staged["trajectories"]
    if not trajectories.num_rows:
        return 0
    con.register("staged_uids", trajectories.select(["traj_uid"]))
    run_sql(
        con,
        "CREATE OR REPLACE TEMP TABLE new_uids AS SELECT traj_uid FROM staged_uids "
        "WHERE traj_uid NOT IN (SELECT traj_uid FROM trajectories)",
    )
    con.unregister("staged_uids")
    for table in ("trajectories", "messages", "tool_calls"):
        if staged[table].num_rows:
            con.register("staged", staged[table])
            run_sql(
                con,
                f"INSERT INTO {table} SELECT {_select(table)} FROM staged "
                "WHERE traj_uid IN (SELECT traj_uid FROM new_uids)",
            )
            con.unregister("staged")
    n_new = con.execute("SELECT count(*) FROM new_uids").fetchall()[0][0]
    run_sql(con, "DROP TABLE new_uids")
    return int(n_new)
