"""What adapters produce, how a parsed file becomes Arrow tables, and how it lands: whole or not.

Parsing, validation and flattening (:func:`stage`) touch no database, so they can run in
worker processes; :func:`land` then inserts one file in one transaction.
"""

from __future__ import annotations

import gc
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Protocol

import orjson
import pyarrow as pa
from pydantic import BaseModel, ValidationError

from taskforge.contracts import Run, Task
from taskforge.domains import get_domain
from taskforge.errors import DataError, TaskforgeError, describe_validation_error
from taskforge.warehouse.ingest.fastcheck import fast_check
from taskforge.warehouse.ingest.unknown import FieldPath, put_back
from taskforge.warehouse.rows import (
    TrajectoryInput,
    add_run,
    add_task,
    arrow_table,
    new_columns,
    task_uid,
    trajectory_tables,
    trajectory_uid,
)
from taskforge.warehouse.store import Warehouse, insert_into, insert_staged, run_sql


@dataclass
class BadRecord:
    """A record that failed validation (quarantined under --skip-bad)."""

    index: int
    record_id: str | None
    reason: str
    raw: Any


@dataclass
class Batch:
    """Everything parsed and validated from one input file, before it lands."""

    path: Path
    content_hash: str
    skip_bad: bool = False
    runs: list[Run] = field(default_factory=list)
    tasks: list[tuple[str, Task]] = field(default_factory=list)
    trajectories: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    bad: list[BadRecord] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    """What the user should know of the file that did not stop it (e.g. unknown fields kept)."""
    converted: dict[int, dict[str, Any]] = field(default_factory=dict)
    """For trajectories the contract accepted only after converting values (e.g. "3" for an
    int): position in ``trajectories`` -> the validated trajectory's JSON, which its rows are
    built from (its key still comes from the record as written)."""
    layouts: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Run id -> how its source file was written (tau2: see
    :mod:`~taskforge.warehouse.ingest.tau2_layout`), for an export that gives it back."""

    def add_trajectory(
        self,
        run_id: str,
        raw: dict[str, Any],
        checked: Any,
        unknown: list[tuple[FieldPath, Any]] | None = None,
    ) -> None:
        """Add a trajectory that passed :func:`check_record` (``checked``: what it returned).

        Args:
            run_id: The run the trajectory belongs to.
            raw: The record as written.
            checked: What :func:`check_record` returned for it (``raw`` itself, or a model).
            unknown: Fields the contract does not declare, taken out of ``raw`` before it was
                checked (:func:`~taskforge.warehouse.ingest.unknown.split_unknown`): they are
                kept in the rows, as written.
        """
        if checked is not raw:
            self.converted[len(self.trajectories)] = put_back(checked.to_json_dict(), unknown or [])
        self.trajectories.append((run_id, raw))


@dataclass
class Staged:
    """One file as Arrow tables, ready to land (picklable, so workers can build it)."""

    path: str
    content_hash: str
    adapter: str
    skip_bad: bool
    tables: dict[str, pa.Table]
    n_trajectories: int
    warnings: list[str] = field(default_factory=list)
    spilled: dict[str, str] = field(default_factory=dict)
    """Table -> Arrow IPC file holding it, while the tables are in files (see :meth:`spill`)."""

    def spill(self, folder: Path) -> None:
        """Move the tables into Arrow IPC files in ``folder``: a worker hands them over this way
        for less than pickling them through a pipe costs."""
        stem = folder / uuid.uuid4().hex
        for name, table in self.tables.items():
            target = f"{stem}-{name}.arrow"
            with pa.OSFile(target, "wb") as sink, pa.ipc.new_file(sink, table.schema) as out:
                out.write_table(table)
            self.spilled[name] = target
        self.tables = {}

    def load(self) -> None:
        """Map spilled tables back into memory (no copy)."""
        for name, target in self.spilled.items():
            self.tables[name] = pa.ipc.open_file(pa.memory_map(target)).read_all()

    def release(self) -> None:
        """Drop the tables and their files."""
        self.tables = {}
        for target in self.spilled.values():
            Path(target).unlink(missing_ok=True)
        self.spilled = {}


@dataclass
class FileResult:
    """What ingesting one file did."""

    path: str
    n_trajectories: int
    n_new: int
    n_quarantined: int
    already_ingested: bool = False
    n_landed: int | None = None
    """Records of the file now in the warehouse (new or stored before); None if not landed."""
    warnings: list[str] = field(default_factory=list)

    @property
    def all_quarantined(self) -> bool:
        """Whether the file had records and every one of them was quarantined."""
        return bool(self.n_quarantined) and self.n_landed == 0


class UnknownRun(DataError):
    """A trajectory or task whose run is neither in the file nor in ``known_domains``."""


class Adapter(Protocol):
    """Turns one kind of input into batches."""

    name: str

    def files(self, path: Path) -> list[Path]:
        """The input files under ``path`` (a file or a folder)."""
        ...

    def parse(self, path: Path, skip_bad: bool) -> Batch:
        """Parse and validate one input; DataError on the first bad record unless skip_bad."""
        ...

    def content_hash(self, path: Path) -> str:
        """Hash of the input's bytes (the same as the parsed batch's ``content_hash``)."""
        ...


def files_under(path: Path, keep: Callable[[Path], bool]) -> list[Path]:
    """The file itself, or every file under the folder that ``keep`` accepts (sorted)."""
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise DataError(f"{path}: no such file or folder")
    return sorted(p for p in path.rglob("*") if p.is_file() and keep(p))


def record_label(raw: Any, index: int) -> str:
    """How errors and warnings name a record: ``#3 (id 'abc')``."""
    rid = raw.get("id") if isinstance(raw, dict) else None
    return f"#{index}" + (f" (id {rid!r})" if rid is not None else "")


def validate_record(
    model: type[Any],
    raw: Any,
    where: str,
    index: int,
    skip_bad: bool,
    bad: list[BadRecord],
    original: Any = None,
) -> Any | None:
    """Validate one record; on failure raise (naming file, record, field) or quarantine it.

    ``original``: the record as written, when ``raw`` is a cleaned copy of it (quarantine keeps
    the record as written).
    """
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        rid = raw.get("id") if isinstance(raw, dict) else None
        reason = describe_validation_error(where, exc, record_label(raw, index))
        if not skip_bad:
            raise DataError(reason) from exc
        kept = raw if original is None else original
        bad.append(BadRecord(index, str(rid) if rid is not None else None, reason, kept))
        return None


def check_record(
    model: type[BaseModel], raw: Any, where: str, index: int, skip_bad: bool, bad: list[BadRecord]
) -> Any | None:
    """Like :func:`validate_record`, but ``raw`` itself when the contract surely accepts it as
    written (:func:`~taskforge.warehouse.ingest.fastcheck.fast_check`, no model built)."""
    if fast_check(model)(raw):
        return raw
    return validate_record(model, raw, where, index, skip_bad, bad)


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic GC while building many small objects that all stay alive (2x faster)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def stage(batch: Batch, adapter: str, known_domains: Mapping[str, str]) -> Staged:
    """Flatten a batch into Arrow tables; task ids are resolved here when the file has them."""
    now = _now()
    domains = {**known_domains, **{r.run_id: r.domain for r in batch.runs}}
    runs, tasks, links = new_columns("runs"), new_columns("tasks"), new_columns("run_tasks")
    uids: dict[tuple[str, str], str] = {}
    for run in batch.runs:
        add_run(runs, run, str(batch.path), now)
    known: dict[tuple[int, str], str] = {}  # (task object, domain) -> uid: files repeat tasks
    for run_id, task in batch.tasks:
        domain = _domain(domains, run_id, batch.path)
        uid = known.get((id(task), domain))
        if uid is None:
            uid = known[(id(task), domain)] = task_uid(task, domain)
            add_task(tasks, task, uid, domain)
        uids[(run_id, task.id)] = uid
        for name, value in (("run_id", run_id), ("task_id", task.id), ("task_uid", uid)):
            links[name].append(value)
    columns = {"runs": runs, "tasks": tasks, "run_tasks": links}
    try:
        tables = {name: arrow_table(name, cols) for name, cols in columns.items()}
        tables |= trajectory_tables(_trajectory_inputs(batch, domains, uids))
    except (pa.ArrowException, TypeError, ValueError, OverflowError) as exc:
        raise DataError(f"{batch.path}: a value does not fit its warehouse column ({exc})") from exc
    tables["quarantine"] = arrow_table("quarantine", _quarantine(batch, now))
    tables["source_layouts"] = arrow_table("source_layouts", _layouts(batch, adapter, uids))
    return Staged(
        str(batch.path),
        batch.content_hash,
        adapter,
        batch.skip_bad,
        tables,
        len(batch.trajectories),
        list(batch.warnings),
    )


def _layouts(batch: Batch, adapter: str, uids: dict[tuple[str, str], str]) -> dict[str, list[Any]]:
    """One ``source_layouts`` row per run with a layout, its tasks given their keys (a task the
    file has but that did not validate keeps no key: the export will miss it)."""
    cols = new_columns("source_layouts")
    for run_id, layout in batch.layouts.items():
        for entry in layout.get("tasks", ()):
            entry["uid"] = uids.get((run_id, str(entry.get("id"))))
        values = (run_id, str(batch.path), adapter, orjson.dumps(layout).decode())
        for name, value in zip(cols, values, strict=True):
            cols[name].append(value)
    return cols


def _domain(domains: Mapping[str, str], run_id: str, path: Path) -> str:
    if run_id not in domains:
        raise UnknownRun(f"{path}: field run_id: unknown run {run_id!r} (no run record for it)")
    return domains[run_id]


def _trajectory_inputs(
    batch: Batch, domains: Mapping[str, str], uids: dict[tuple[str, str], str]
) -> list[TrajectoryInput]:
    """Each episode (run and id) once, the first of a file's copies, keyed, with its domain's
    tool kinds."""
    kinds: dict[str, dict[str, str]] = {}
    items: list[TrajectoryInput] = []
    seen: set[tuple[str, str]] = set()
    for position, (run_id, raw) in enumerate(batch.trajectories):
        domain = _domain(domains, run_id, batch.path)
        episode = (run_id, str(raw.get("id")))
        if episode in seen:
            continue
        seen.add(episode)
        uid = trajectory_uid(run_id, raw)
        tool_kinds = kinds.get(domain)
        if tool_kinds is None:
            tool_kinds = kinds[domain] = _tool_kinds(domain)
        data = batch.converted.get(position, raw)
        items.append(
            TrajectoryInput(uid, run_id, uids.get((run_id, raw["task_id"])), data, tool_kinds)
        )
    return items


def _tool_kinds(domain: str) -> dict[str, str]:
    try:
        specs = get_domain(domain).toolkit_cls.specs
    except TaskforgeError:
        return {}
    return {name: spec.kind.value for name, spec in specs.items()}


def _quarantine(batch: Batch, now: datetime) -> dict[str, list[Any]]:
    cols = new_columns("quarantine")
    for bad in batch.bad:
        record = orjson.dumps(bad.raw, default=str).decode()
        values = (str(batch.path), bad.index, bad.record_id, bad.reason, record, now)
        for name, value in zip(cols, values, strict=True):
            cols[name].append(value)
    return cols


COMPLETE_FILES = (
    "SELECT path, content_hash FROM ingested_files WHERE coalesce(n_quarantined, 0) = 0"
)
"""Files that landed whole: no record of them was left in quarantine. Only these are skipped
when ingested again; a file with quarantined records is read again, and lands what it can."""


def already_ingested(wh: Warehouse, path: str, content_hash: str) -> bool:
    """Whether this exact file (path and content) has landed whole before."""
    query = f"SELECT count(*) FROM ({COMPLETE_FILES}) WHERE path = ? AND content_hash = ?"
    return bool(wh.scalar(query, [path, content_hash]))


def land(wh: Warehouse, staged: Staged) -> FileResult:
    """Insert one staged file in one transaction; rows whose keys exist are left alone."""
    t = staged.tables
    with wh.transaction() as con:
        _forget_earlier_attempt(con, staged)
        for name in ("runs", "tasks", "run_tasks"):
            insert_staged(con, name, t[name], new_only=True)
        n_unknown = _resolve_tasks(con, staged)
        n_quarantined = t["quarantine"].num_rows + n_unknown
        n_landed = con.execute("SELECT count(*) FROM staged_trajectories").fetchall()[0][0]
        n_new = _insert_trajectories(con, staged, every=n_unknown == 0)
        insert_staged(con, "quarantine", t["quarantine"], new_only=False)
        if "source_layouts" in t:
            insert_staged(con, "source_layouts", _slim_layouts(con, t["source_layouts"]), True)
        row = _file_row(staged, n_new, n_quarantined)
        insert_staged(con, "ingested_files", row, new_only=False)
    return FileResult(
        staged.path,
        staged.n_trajectories,
        n_new,
        n_quarantined,
        n_landed=int(n_landed),
        warnings=staged.warnings,
    )


def _slim_layouts(con: Any, layouts: pa.Table) -> pa.Table:
    """The layouts without the task records the ``tasks`` table holds as written (same JSON
    text): the export reads those from there, and a layout keeps only tasks that differ (a
    task first stored from another file with other nulls, one with unknown fields)."""
    rows = layouts.to_pylist()
    if not rows:
        return layouts
    uids = [e["uid"] for r in rows for e in orjson.loads(r["layout"])["tasks"] if e.get("uid")]
    stored = dict(
        con.execute(
            "SELECT task_uid, task FROM tasks WHERE task_uid IN (SELECT unnest(?::VARCHAR[]))",
            [uids],
        ).fetchall()
    )
    for row in rows:
        layout = orjson.loads(row["layout"])
        for entry in layout["tasks"]:
            text = stored.get(entry.get("uid"))
            if text is not None and text == orjson.dumps(entry["record"]).decode():
                del entry["record"]
        row["layout"] = orjson.dumps(layout).decode()
    return arrow_table("source_layouts", {k: [r[k] for r in rows] for k in layouts.column_names})


def _forget_earlier_attempt(con: Any, staged: Staged) -> None:
    """Drop what an earlier ingest of this file left: its quarantined records (this attempt
    quarantines again those it still cannot read), its layouts (this attempt's know the keys of
    tasks it lands now) and its row in ``ingested_files``."""
    run_sql(con, "DELETE FROM quarantine WHERE source_path = ?", [staged.path])
    run_sql(con, "DELETE FROM source_layouts WHERE source_path = ?", [staged.path])
    run_sql(
        con,
        "DELETE FROM ingested_files WHERE path = ? AND content_hash = ?",
        [staged.path, staged.content_hash],
    )


def _resolve_tasks(con: Any, staged: Staged) -> int:
    """Make ``staged_trajectories``, with task_uid filled from stored run_tasks where the file
    did not have the task; unknown tasks are an error or quarantined (how many: returned)."""
    table = staged.tables["trajectories"]
    if _tasks_known(staged):
        con.register("staged_trajectories", table)
        return 0
    con.register("staged", table)
    run_sql(
        con,
        "CREATE OR REPLACE TEMP TABLE staged_trajectories AS "
        "SELECT s.* REPLACE (coalesce(s.task_uid, r.task_uid) AS task_uid) FROM staged s "
        "LEFT JOIN run_tasks r ON s.task_uid IS NULL AND r.run_id = s.run_id "
        "AND r.task_id = s.task_id",
    )
    con.unregister("staged")
    missing = con.execute(
        "SELECT sim_id, task_id, run_id FROM staged_trajectories WHERE task_uid IS NULL"
    ).fetchall()
    if not missing:
        return 0
    reasons = [
        f"{staged.path}: record id {sim!r}: field task_id: unknown task {task!r} for run {run}"
        for sim, task, run in missing
    ]
    if not staged.skip_bad:
        raise DataError(reasons[0] + (f" (+{len(reasons) - 1} more)" if len(reasons) > 1 else ""))
    for (sim, task, run), reason in zip(missing, reasons, strict=True):
        record = orjson.dumps({"run_id": run, "id": sim, "task_id": task}).decode()
        run_sql(
            con,
            "INSERT INTO quarantine VALUES (?, NULL, ?, ?, ?::JSON, now())",
            [staged.path, sim, reason, record],
        )
    run_sql(con, "DELETE FROM staged_trajectories WHERE task_uid IS NULL")
    return len(missing)


def _file_row(staged: Staged, n_new: int, n_quarantined: int) -> pa.Table:
    return arrow_table(
        "ingested_files",
        {
            "path": [staged.path],
            "content_hash": [staged.content_hash],
            "adapter": [staged.adapter],
            "n_trajectories": [staged.n_trajectories],
            "n_new": [n_new],
            "ingested_at": [_now()],
            "n_quarantined": [n_quarantined],
        },
    )


_SAME_EPISODE = "t.run_id = s.run_id AND t.sim_id = s.sim_id"
"""An episode lands once per run: one whose run and id are stored is not new, whatever its key
(a key from before wall-clock fields were left out of it, another play of the same episode)."""


def _insert_trajectories(con: Any, staged: Staged, every: bool) -> int:
    """Insert the trajectories of ``staged_trajectories`` not stored yet, with their messages
    and tool calls; ``every``: all staged trajectories are still there (none quarantined)."""
    stored = con.execute(
        f"SELECT count(*) FROM staged_trajectories s SEMI JOIN trajectories t ON {_SAME_EPISODE}"
    ).fetchall()[0][0]
    only_new = "" if every and not stored else " WHERE traj_uid IN (SELECT traj_uid FROM new_uids)"
    if only_new:
        run_sql(
            con,
            "CREATE OR REPLACE TEMP TABLE new_uids AS SELECT s.traj_uid FROM staged_trajectories "
            f"s ANTI JOIN trajectories t ON {_SAME_EPISODE}",
        )
    n_new = con.execute(f"SELECT count(*) FROM staged_trajectories{only_new}").fetchall()[0][0]
    run_sql(
        con,
        insert_into("trajectories", f"staged_trajectories{only_new}"),
    )
    for table in ("messages", "tool_calls"):
        if staged.tables[table].num_rows and n_new:
            con.register("staged", staged.tables[table])
            run_sql(con, insert_into(table, f"staged{only_new}"))
            con.unregister("staged")
    if only_new:
        run_sql(con, "DROP TABLE new_uids")
    if _tasks_known(staged):
        con.unregister("staged_trajectories")
    else:
        run_sql(con, "DROP TABLE staged_trajectories")
    return int(n_new)


def _tasks_known(staged: Staged) -> bool:
    """Whether every trajectory's task was in its file (so its task_uid is already set)."""
    return not staged.tables["trajectories"].column("task_uid").null_count
