"""tau2-bench results: the single-file format and the "dir" format (results.json + simulations/).

Every field tau2 writes, before 1.0 and in 1.0.x (voice and streaming fields included, null or
not), is a field of taskforge's contracts, so such files validate as they are and round-trip.
A simulation field that no known tau2 version has (a newer tau2, a user's own addition) does
not refuse the file: it is set aside while the record is validated, kept in the warehouse as
written (``messages.extra``, ``trajectories.extra``), and named in one warning per field with
the first record that has it; a task field likewise (the task is kept as written in the run's
layout). Each file's layout (:mod:`~taskforge.warehouse.ingest.tau2_layout`) is kept, so
``taskforge export tau2-results`` writes the file back byte for byte.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from taskforge.contracts import Run, Task, Trajectory
from taskforge.errors import DataError
from taskforge.warehouse.ingest.base import Batch, record_label, validate_record
from taskforge.warehouse.ingest.fastcheck import fast_check
from taskforge.warehouse.ingest.tau2_layout import file_layout, json_format
from taskforge.warehouse.ingest.unknown import FieldPath, split_unknown, unknown_warnings
from taskforge.warehouse.keys import content_key, file_hash


class Tau2Adapter:
    """Reads tau2 results files and folders."""

    name = "tau2"

    def files(self, path: Path) -> list[Path]:
        """A results file, a dir-format folder, or a folder holding either."""
        if path.is_file():
            return [path]
        if not path.is_dir():
            raise DataError(f"{path}: no such file or folder")
        if (path / "results.json").is_file() and (path / "simulations").is_dir():
            return [path]
        found = sorted(p for p in path.rglob("*.json") if p.parent.name != "simulations")
        dirs = sorted({p.parent for p in path.rglob("simulations/*.json")})
        return [p for p in found if p.parent not in dirs] + dirs

    def content_hash(self, path: Path) -> str:
        """Hash of the file's bytes (dir format: of results.json and every simulation)."""
        files = [path] if path.is_file() else _dir_files(path)
        return file_hash(b"\x00".join(p.read_bytes() for p in files))

    def parse(self, path: Path, skip_bad: bool) -> Batch:
        """Validate a results file (or dir) into one batch, with the file's layout."""
        data, digest, formatting = _read(path)
        if not isinstance(data, dict) or "info" not in data or "tasks" not in data:
            raise DataError(f"{path}: field info/tasks: missing (not a tau2 results file?)")
        if "simulations" not in data:
            raise DataError(f"{path}: field simulations: missing")
        run = _run(data)
        batch = Batch(path=path, content_hash=digest, skip_bad=skip_bad, runs=[run])
        found: list[tuple[str, FieldPath]] = []
        for i, raw in enumerate(_list(data["tasks"], path, "tasks")):
            _add_task(batch, run.run_id, raw, i, found)
        batch.warnings += unknown_warnings(f"{path}: tasks", found, "tau2")
        sims = _list(data["simulations"], path, "simulations")
        found = []
        for i, raw in enumerate(sims):
            _add_simulation(batch, run.run_id, raw, i, found)
        batch.warnings += unknown_warnings(f"{path}: simulations", found, "tau2")
        batch.layouts[run.run_id] = file_layout(data, formatting)
        return batch


def _add_task(
    batch: Batch, run_id: str, raw: Any, index: int, found: list[tuple[str, FieldPath]]
) -> None:
    """Validate one task, its unknown fields set aside (noted in ``found``; the file's layout
    keeps the task as written)."""
    clean, unknown = split_unknown(raw, Task) if isinstance(raw, dict) else (raw, [])
    where = f"{batch.path}: tasks"
    task = validate_record(Task, clean, where, index, batch.skip_bad, batch.bad, raw)
    if task is None:
        return
    label = record_label(raw, index)
    found.extend((label, field) for field, _ in unknown)
    batch.tasks.append((run_id, task))


def _add_simulation(
    batch: Batch, run_id: str, raw: Any, index: int, found: list[tuple[str, FieldPath]]
) -> None:
    """Validate one simulation, its unknown fields set aside (and noted in ``found``)."""
    if fast_check(Trajectory)(raw):
        batch.add_trajectory(run_id, raw, raw)
        return
    clean, unknown = split_unknown(raw, Trajectory) if isinstance(raw, dict) else (raw, [])
    where = f"{batch.path}: simulations"
    checked = validate_record(Trajectory, clean, where, index, batch.skip_bad, batch.bad, raw)
    if checked is None:
        return
    label = record_label(raw, index)
    found.extend((label, field) for field, _ in unknown)
    batch.add_trajectory(run_id, raw, checked, unknown)


def _list(value: Any, path: Path, name: str) -> list[Any]:
    if not isinstance(value, list):
        raise DataError(f"{path}: field {name}: expected a list")
    return value


def _read(path: Path) -> tuple[dict[str, Any], str, dict[str, Any] | None]:
    """The results object (dir format: results.json with its simulations), a content hash and
    the file's JSON formatting (None for the dir format)."""
    if path.is_file():
        raw = path.read_bytes()
        return _loads(raw, path), file_hash(raw), json_format(raw)
    files = _dir_files(path)
    blobs = [p.read_bytes() for p in files]
    meta = _loads(blobs[0], files[0])
    meta.pop("format_version", None)
    meta["simulations"] = [_loads(b, p) for p, b in zip(files[1:], blobs[1:], strict=True)]
    return meta, file_hash(b"\x00".join(blobs)), None


def _dir_files(path: Path) -> list[Path]:
    """results.json, then the simulation files, of a dir-format run."""
    return [path / "results.json", *sorted((path / "simulations").glob("*.json"))]


def _loads(raw: bytes, path: Path) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise DataError(f"{path}: not valid JSON ({exc})") from exc


def _run(data: dict[str, Any]) -> Run:
    info = data["info"] if isinstance(data["info"], dict) else {}
    agent, user = info.get("agent_info") or {}, info.get("user_info") or {}
    env = info.get("environment_info") or {}
    config = {k: info.get(k) for k in ("num_trials", "max_steps", "max_errors", "seed")}
    config |= {"agent_llm_args": agent.get("llm_args"), "user_llm_args": user.get("llm_args")}
    return Run(
        run_id=content_key("tau2", info, data.get("timestamp")),
        source="tau2",
        agent_model=agent.get("llm"),
        user_model=user.get("llm"),
        domain=env.get("domain_name") or "retail",
        env_version=info.get("git_commit"),
        created_at=data.get("timestamp"),
        config=config,
    )


__all__ = ["Tau2Adapter"]
