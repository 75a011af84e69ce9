"""``taskforge export verl``: a task pool as one folder verl can train on (no verl import).

The folder holds the train and validation parquet files, the reward spec, verl's tool and
agent-loop YAML files, a manifest (``export.json``, read by the launch script) and a README
saying how to launch. Writing it twice with the same inputs gives the same bytes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from string import Template
from typing import Any

import orjson

from taskforge.contracts import Task
from taskforge.env.db import Database
from taskforge.env.domains import Domain
from taskforge.errors import DataError
from trainer_adapters.verl.configs import agent_loop_config, dump_yaml, tool_config
from trainer_adapters.verl.data import DbMode, RowOptions, make_rows, opening_messages, write_parquet
from trainer_adapters.verl.inputs import AGENT_NAME
from trainer_adapters.verl.user import UserSimulator

EXPORT_FORMAT = "taskforge-verl-export"
EXPORT_VERSION = 1
MANIFEST = "export.json"
FILES = {
    "train": "train.parquet",
    "val": "val.parquet",
    "spec": "reward_spec.json",
    "tools": "configs/tools.yaml",
    "agent_loop": "configs/agent_loop.yaml",
    "readme": "README.md",
}
_README = Path(__file__).resolve().parent / "export_readme.md"


@dataclass
class ExportRequest:
    """What to export and how."""

    tasks: list[Task]
    db: Database
    domain: Domain
    out: Path
    spec: str = "raft"
    val_fraction: float = 0.1
    seed: int = 0
    db_mode: DbMode = "inline"
    user_config: Path | None = None
    tool_schemas: Path | None = None
    round: int | None = None
    source: dict[str, Any] = field(default_factory=dict)
    """Provenance (tasks file, DB file, pool name, command) copied into the manifest."""


def _write(path: Path, text: str | bytes) -> None:
    from taskforge.cli.common import write_atomic

    write_atomic(path, text if isinstance(text, str) else text.decode())


def _spec(name: str) -> Any:
    from taskforge.rewards import load_spec

    return load_spec(name)


def _spec_text(spec: Any) -> str:
    from taskforge.rewards import dump_spec

    return dump_spec(spec, "json")


def export_verl(request: ExportRequest) -> dict[str, Any]:
    """Write the export folder; returns its manifest."""
    if not request.tasks:
        raise DataError("export verl: no tasks to export")
    if len({t.id for t in request.tasks}) != len(request.tasks):
        raise DataError("export verl: field id: task ids are not unique")
    out = request.out
    spec = _spec(request.spec)
    db_file = _write_db(request) if request.db_mode == "file" else None
    user = UserSimulator(request.user_config)
    openings = opening_messages(request.tasks, request.db, user, request.seed)
    options = RowOptions(request.val_fraction, request.seed, request.db_mode, db_file)
    rows = make_rows(request.tasks, request.db, request.domain, openings, options)
    for split in ("train", "val"):
        write_parquet(out / FILES[split], rows[split])
    _write(out / FILES["spec"], _spec_text(spec))
    _write(out / FILES["tools"], dump_yaml(tool_config(request.domain.name, request.tool_schemas)))
    loop = agent_loop_config(user_config=request.user_config, round=request.round)
    _write(out / FILES["agent_loop"], dump_yaml(loop))
    manifest = _manifest(request, spec, {s: len(r) for s, r in rows.items()}, user.model, db_file)
    _write(out / MANIFEST, json.dumps(manifest, indent=2) + "\n")
    _write(out / FILES["readme"], _readme(manifest))
    return manifest


def _write_db(request: ExportRequest) -> Path:
    path = request.out / "dbs" / f"{request.db.hash}.json"
    if not path.exists():
        _write(path, orjson.dumps(request.db.to_dict()))
    return path


def _manifest(
    request: ExportRequest,
    spec: Any,
    counts: dict[str, int],
    user_model: str,
    db_file: Path | None,
) -> dict[str, Any]:
    return {
        "format": EXPORT_FORMAT,
        "version": EXPORT_VERSION,
        "domain": request.domain.name,
        "agent_name": AGENT_NAME,
        "round": request.round,
        "n_tasks": len(request.tasks),
        "counts": counts,
        "files": {k: v for k, v in FILES.items()},
        "reward_spec": {"name": spec.name, "version": spec.version, "hash": spec.spec_hash()},
        "db": {
            "hash": request.db.hash,
            "mode": request.db_mode,
            "file": str(db_file.relative_to(request.out)) if db_file else None,
        },
        "user_model": user_model,
        "user_config": str(request.user_config.resolve()) if request.user_config else None,
        "val_fraction": request.val_fraction,
        "seed": request.seed,
        "tool_schemas": str(request.tool_schemas.resolve()) if request.tool_schemas else None,
        "source": request.source,
    }


def _readme(manifest: dict[str, Any]) -> str:
    spec = manifest["reward_spec"]
    return Template(_README.read_text(encoding="utf-8")).substitute(
        n_tasks=manifest["n_tasks"],
        n_train=manifest["counts"]["train"],
        n_val=manifest["counts"]["val"],
        domain=manifest["domain"],
        spec=f"{spec['name']} v{spec['version']} ({spec['hash']})",
        user_model=manifest["user_model"],
        round=manifest["round"] if manifest["round"] is not None else "-",
    )


def read_manifest(folder: Path) -> dict[str, Any]:
    """An export folder's manifest (DataError naming the folder when it is not one)."""
    path = folder / MANIFEST
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError(f"{folder}: not a verl export (no {MANIFEST}); see taskforge export verl")
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}: not valid JSON ({exc})") from exc
    if not isinstance(data, dict) or data.get("format") != EXPORT_FORMAT:
        raise DataError(f"{path}: field format: expected {EXPORT_FORMAT!r}")
    result: dict[str, Any] = data
    return result
