"""A tau2 results file out of the warehouse: the file an ingested run came from, byte for byte.

The simulations come from their rows (:func:`~taskforge.warehouse.load.load_trajectory_records`:
columns plus ``extra``), the tasks from the ``tasks`` table, and what neither holds (the file's
top level, key orders, explicit nulls, JSON formatting) from the layout ingest kept
(:mod:`taskforge.warehouse.ingest.tau2_layout`). Where the layout says the bytes cannot come
back (``inexact``), or records of the file never landed (quarantined), the file is written
anyway and the result says so.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from taskforge.contracts.base import SCHEMA_VERSION
from taskforge.contracts.io import write_atomic
from taskforge.errors import DataError
from taskforge.warehouse.ingest.tau2_layout import reshape
from taskforge.warehouse.load import load_trajectory_records
from taskforge.warehouse.store import Warehouse


@dataclass
class ResultsExport:
    """What an export of one run wrote, and whether it is the source file's bytes."""

    run_id: str
    source_path: str
    out: Path
    n_tasks: int
    n_simulations: int
    missing: list[str] = field(default_factory=list)
    """Simulation (or task) ids the file had that the warehouse does not hold."""
    inexact: list[str] = field(default_factory=list)
    """Why the bytes differ from the source file's (empty: they are the same)."""
    sha256: str = ""
    bytes: int = 0
    same_as_source: bool | None = None
    """Whether the bytes are the source file's (None: that file is no longer where it was)."""

    def summary(self) -> dict[str, Any]:
        """The result as JSON-ready data."""
        return {
            "run_id": self.run_id,
            "source_path": self.source_path,
            "out": str(self.out),
            "n_tasks": self.n_tasks,
            "n_simulations": self.n_simulations,
            "missing": self.missing,
            "exact": not self.inexact and not self.missing,
            "inexact": self.inexact,
            "sha256": self.sha256,
            "bytes": self.bytes,
            "same_as_source": self.same_as_source,
        }


def _layout(wh: Warehouse, run_id: str) -> tuple[str, dict[str, Any]]:
    row = wh.con.execute(
        "SELECT source_path, layout FROM source_layouts WHERE run_id = ?", [run_id]
    ).fetchone()
    if row is not None:
        return row[0], orjson.loads(row[1])
    if wh.scalar("SELECT count(*) FROM runs WHERE run_id = ?", [run_id]):
        raise DataError(
            f"run {run_id!r}: no source layout stored (not a tau2 results file, or ingested "
            "before warehouse schema v7); a tau2 file ingested now keeps one"
        )
    raise DataError(f'run {run_id!r}: no such run (list them: taskforge sql "SELECT * FROM runs")')


def _tasks(wh: Warehouse, layout: dict[str, Any], export: ResultsExport) -> list[Any]:
    entries = layout["tasks"]
    uids = [e["uid"] for e in entries if e.get("uid") and "record" not in e]
    stored = dict(
        wh.con.execute(
            "SELECT task_uid, task FROM tasks WHERE task_uid IN (SELECT unnest(?::VARCHAR[]))",
            [uids],
        ).fetchall()
    )
    out = []
    for entry in entries:
        if "record" in entry:
            out.append(entry["record"])
        elif entry.get("uid") in stored:
            out.append(orjson.loads(stored[entry["uid"]]))
        else:
            export.missing.append(f"task {entry.get('id')}")
    return out


def _message(message: dict[str, Any], shapes: dict[str, Any], export: ResultsExport) -> Any:
    shape = shapes["message"].get(message.get("role"))
    if shape and "schema_version" in shape:  # rows keep it only when it is not the default
        message.setdefault("schema_version", SCHEMA_VERSION)
    usage = message.get("usage")
    if isinstance(usage, dict) and set(usage) == {"prompt_tokens", "completion_tokens"}:
        message["usage"], _ = reshape(usage, shapes["usage"])
    if message.get("tool_calls"):
        calls = [reshape(c, shapes["tool_call"]) for c in message["tool_calls"]]
        message["tool_calls"] = [c for c, _ in calls]
        if not all(whole for _, whole in calls):
            _note(export, "a tool call has keys its file's tool calls did not have")
    out, whole = reshape(message, shape)
    if not whole:
        _note(export, f"a message of role {message.get('role')} has keys its file's did not have")
    return out


def _note(export: ResultsExport, reason: str) -> None:
    if reason not in export.inexact:
        export.inexact.append(reason)


def _simulations(
    wh: Warehouse, run_id: str, layout: dict[str, Any], export: ResultsExport
) -> list[Any]:
    rows = wh.con.execute(
        "SELECT sim_id, traj_uid FROM trajectories WHERE run_id = ?", [run_id]
    ).fetchall()
    by_id = {str(sim_id): uid for sim_id, uid in rows}
    order = [str(i) for i in layout["simulations"]]
    records = load_trajectory_records(wh, [by_id[i] for i in order if i in by_id])
    shapes, out = layout["shapes"], []
    for sim_id in order:
        if sim_id not in by_id:
            export.missing.append(f"simulation {sim_id}")
            continue
        record = records[by_id[sim_id]]
        record["messages"] = [_message(m, shapes, export) for m in record["messages"]]
        sim, whole = reshape(record, shapes["simulation"])
        if not whole:
            _note(export, "a simulation has keys its file's simulations did not have")
        out.append(sim)
    return out


def render(data: Any, formatting: dict[str, Any] | None) -> bytes:
    """``data`` as JSON text formatted as ``formatting`` (:func:`json_format`) says."""
    fmt = formatting or {"indent": 2, "ensure_ascii": True, "newline": True}
    separators = tuple(fmt.get("separators") or (",", ": "))
    text = json.dumps(
        data, indent=fmt["indent"], ensure_ascii=fmt["ensure_ascii"], separators=separators
    )
    return (text + ("\n" if fmt["newline"] else "")).encode("utf-8")


def export_tau2_results(wh: Warehouse, run_id: str, out: Path) -> ResultsExport:
    """Write the tau2 results file of an ingested run to ``out`` (atomically)."""
    source, layout = _layout(wh, run_id)
    export = ResultsExport(run_id, source, out, 0, 0, inexact=list(layout["inexact"]))
    tasks = _tasks(wh, layout, export)
    sims = _simulations(wh, run_id, layout, export)
    top = dict(layout["top"]) | {"tasks": tasks, "simulations": sims}
    blob = render(top, layout["json"])
    write_atomic(out, blob)
    export.n_tasks, export.n_simulations = len(tasks), len(sims)
    export.sha256, export.bytes = hashlib.sha256(blob).hexdigest(), len(blob)
    source_file = Path(source)
    if source_file.is_file():
        export.same_as_source = source_file.read_bytes() == blob
    return export


__all__ = ["ResultsExport", "export_tau2_results", "render"]
