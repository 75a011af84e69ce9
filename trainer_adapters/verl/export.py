"""``taskforge export verl``: a task pool as one folder verl can train on (no verl import).

The folder holds the train and validation parquet files, the reward spec, verl's tool and
agent-loop YAML files, a README saying how to launch, and taskforge's export manifest
(``taskforge_export.json``: the pool, the command, the file hashes; its ``extra`` block is
what the launch script reads). It shares the pool selection, the task/entry pairing, the
split assignment (by task content key, so a task keeps its split as the pool grows) and the
all-at-once folder replacement with the other exporters (``taskforge.export``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from string import Template
from typing import Any

import orjson

from taskforge.contracts import ExportManifest, Task, TaskPool
from taskforge.contracts.io import write_atomic
from taskforge.domains import get_domain
from taskforge.env.db import Database
from taskforge.errors import DataError
from taskforge.export import ExportResult, assign_splits, pair_tasks, read_manifest
from taskforge.export.common import check_db, export_folder
from taskforge.export.manifest import write_manifest
from trainer_adapters.verl.configs import agent_loop_config, dump_yaml, tool_config
from trainer_adapters.verl.data import (
    DbMode,
    RowOptions,
    make_rows,
    opening_messages,
    write_parquet,
)
from trainer_adapters.verl.inputs import AGENT_NAME
from trainer_adapters.verl.user import UserSimulator

EXPORTER = "verl"
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
class VerlExportOptions:
    """How to export."""

    spec: str = "raft"
    """Reward spec: a preset name or a spec file."""
    val_fraction: float = 0.1
    seed: int = 0
    db_mode: DbMode = "inline"
    user_config: Path | None = None
    """LLM config whose ``user`` role plays the first user messages (None: scripted user)."""
    tool_schemas: Path | None = None


def export_pool(
    pool: TaskPool,
    tasks: list[Task],
    db: Database,
    out: Path,
    command: str | None = None,
    **options: Any,
) -> ExportResult:
    """The registry's ``trainer_exporter`` ``verl``: :func:`export_verl` with the
    :class:`VerlExportOptions` fields by keyword."""
    return export_verl(pool, tasks, db, out, VerlExportOptions(**options), command=command)


def _spec(name: str) -> tuple[Any, str]:
    from taskforge.rewards import dump_spec, load_spec

    spec = load_spec(name)
    return spec, dump_spec(spec, "json")


def _splits(val_fraction: float) -> dict[str, float]:
    if not 0 <= val_fraction < 1:
        raise DataError(f"--val-fraction: expected a number in [0, 1), got {val_fraction}")
    return {"train": 1 - val_fraction, "val": val_fraction} if val_fraction else {"train": 1.0}


def export_verl(
    pool: TaskPool,
    tasks: list[Task],
    db: Database,
    out: Path,
    options: VerlExportOptions | None = None,
    command: str | None = None,
) -> ExportResult:
    """Write the export folder (replacing an earlier export there) and its manifest."""
    options = options or VerlExportOptions()
    domain = get_domain(pool.domain)
    pairs = pair_tasks(pool, tasks)
    check_db(pairs, db)
    by_split = assign_splits(pairs, _splits(options.val_fraction), options.seed)
    splits = {name: [task for _, task in pairs_] for name, pairs_ in by_split.items()}
    spec, spec_text = _spec(options.spec)
    user = UserSimulator(options.user_config)
    chosen = [task for _, task in pairs]
    openings = opening_messages(chosen, db, user, options.seed)
    db_file = out.resolve() / "dbs" / f"{db.hash}.json" if options.db_mode == "file" else None
    rows = make_rows(
        splits, db, domain, openings, RowOptions(options.seed, options.db_mode, db_file)
    )
    counts = {name: len(r) for name, r in rows.items()}
    with export_folder(out) as tmp:
        for split, split_rows in rows.items():
            if split_rows:  # an empty split has no file (and no validation at launch)
                write_parquet(tmp / FILES[split], split_rows)
        if db_file is not None:
            write_atomic(tmp / "dbs" / db_file.name, orjson.dumps(db.to_dict()).decode())
        write_atomic(tmp / FILES["spec"], spec_text)
        write_atomic(
            tmp / FILES["tools"], dump_yaml(tool_config(domain.name, options.tool_schemas))
        )
        loop = agent_loop_config(user_config=options.user_config, round=pool.round)
        write_atomic(tmp / FILES["agent_loop"], dump_yaml(loop))
        extra = _extra(pool, spec, counts, user.model, db, options)
        write_atomic(tmp / FILES["readme"], _readme(pool, extra))
        manifest = write_manifest(tmp, pool, command, _config(options), extra, exporter=EXPORTER)
    return ExportResult(out, manifest)


def _config(options: VerlExportOptions) -> dict[str, Any]:
    return {
        "spec": options.spec,
        "val_fraction": options.val_fraction,
        "seed": options.seed,
        "db_mode": options.db_mode,
        "user_config": str(options.user_config) if options.user_config else None,
        "tool_schemas": str(options.tool_schemas) if options.tool_schemas else None,
    }


def _extra(
    pool: TaskPool,
    spec: Any,
    counts: dict[str, int],
    user_model: str,
    db: Database,
    options: VerlExportOptions,
) -> dict[str, Any]:
    return {
        "agent_name": AGENT_NAME,
        "domain": pool.domain,
        "split_counts": counts,
        "files": {k: v for k, v in FILES.items() if k not in counts or counts[k]},
        "reward_spec": {"name": spec.name, "version": spec.version, "hash": spec.spec_hash()},
        "db": {"hash": db.hash, "mode": options.db_mode},
        "user_model": user_model,
        "user_config": str(options.user_config.resolve()) if options.user_config else None,
    }


def _readme(pool: TaskPool, extra: dict[str, Any]) -> str:
    spec, counts = extra["reward_spec"], extra["split_counts"]
    return Template(_README.read_text(encoding="utf-8")).substitute(
        n_tasks=sum(counts.values()),
        n_train=counts.get("train", 0),
        n_val=counts.get("val", 0),
        domain=pool.domain,
        pool=pool.name,
        round=pool.round,
        mode=pool.mode,
        spec=f"{spec['name']} v{spec['version']} ({spec['hash']})",
        user_model=extra["user_model"],
    )


def read_export(folder: Path) -> ExportManifest:
    """A verl export's manifest (DataError naming the folder when it is not one)."""
    manifest = read_manifest(folder)
    if manifest.exporter != EXPORTER:
        raise DataError(
            f"{folder}: an export of {manifest.exporter!r}, not verl; see taskforge export verl"
        )
    return manifest
