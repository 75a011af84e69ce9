"""Hugging Face export: parquet shards per split, a dataset card, the DB and the manifest.

``datasets.load_dataset(DIR)`` loads the folder offline as a ``DatasetDict`` with the features
of :func:`taskforge.export.hf_schema.hf_features`. Writing needs only pyarrow; ``datasets``
is needed to load it, ``huggingface_hub`` to push it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from taskforge.contracts import Task, TaskPool
from taskforge.env.db import Database
from taskforge.errors import DataError
from taskforge.export.common import (
    ExportResult,
    Pair,
    assign_splits,
    check_db,
    check_splits,
    export_folder,
    pair_tasks,
    write_db,
)
from taskforge.export.hf_card import render_card
from taskforge.export.hf_schema import arrow_schema, task_row
from taskforge.export.manifest import write_manifest

DEFAULT_SPLITS = {"train": 0.9, "validation": 0.1}
SHARD_ROWS = 10_000
"""Most rows per parquet shard."""


def _write_split(out: Path, split: str, pool: TaskPool, pairs: Sequence[Pair], rows: int) -> int:
    """Parquet shards of one split; returns the split's Arrow size in bytes (the card's
    ``num_bytes``)."""
    schema = arrow_schema()
    chunks = [pairs[i : i + rows] for i in range(0, len(pairs), rows)]
    size = 0
    for i, chunk in enumerate(chunks):
        path = out / f"data/{split}-{i:05d}-of-{len(chunks):05d}.parquet"
        table = pa.Table.from_pylist([task_row(pool, e, t) for e, t in chunk], schema=schema)
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(table, path)
        size += table.nbytes
    return size


def export_hf(
    pool: TaskPool,
    tasks: Sequence[Task],
    db: Database,
    out: Path,
    splits: Mapping[str, float] = DEFAULT_SPLITS,
    seed: int = 0,
    *,
    command: str | None = None,
    config: Mapping[str, Any] | None = None,
    spec_hash: str | None = None,
    license_: str = "mit",
    shard_rows: int = SHARD_ROWS,
) -> ExportResult:
    """Write the pool's active tasks to ``out`` as a Hugging Face dataset folder.

    A task's split depends only on its content key and ``seed``; ``out`` is replaced whole
    (it must be absent, empty or an earlier export). Same inputs, byte-identical files.
    """
    pairs = pair_tasks(pool, tasks)
    check_db(pairs, db)
    by_split = assign_splits(pairs, check_splits(splits), seed)
    counts = {s: len(p) for s, p in by_split.items()}
    settings = {"splits": dict(splits), "seed": seed, "license": license_, **(config or {})}
    extra = {
        "db_hash": db.hash,
        "spec_hash": spec_hash,
        "split_counts": counts,
        "renamed_ids": {e.task_uid: t.id for e, t in pairs if t.id != e.task_id},
    }
    with export_folder(out) as tmp:
        sizes = {s: _write_split(tmp, s, pool, p, shard_rows) for s, p in by_split.items()}
        write_db(tmp / "db.json", db)
        reproduce = {"command": command, "config": settings}
        card = render_card(pool, by_split, sizes, reproduce, license_)
        (tmp / "README.md").write_text(card, encoding="utf-8")
        manifest = write_manifest(tmp, pool, command, settings, extra, exporter="hf")
    return ExportResult(out, manifest)


def push_to_hub(
    out: Path,
    repo_id: str,
    *,
    private: bool = False,
    token: str | None = None,
    api: Any = None,
    message: str | None = None,
) -> str:
    """Upload an export folder to a dataset repo (created if missing); returns the commit URL.

    The token comes from ``token``, else ``$HF_TOKEN`` or the stored login. Shards the new
    export does not have are deleted from the repo, so the hub matches the folder.
    """
    if api is None:
        from huggingface_hub import HfApi, get_token

        token = token or os.environ.get("HF_TOKEN") or get_token()
        if not token:
            raise DataError("no Hugging Face token: set HF_TOKEN (or run `hf auth login`)")
        api = HfApi(token=token)
    api.create_repo(repo_id, repo_type="dataset", private=private, exist_ok=True)
    info = api.upload_folder(
        repo_id=repo_id,
        folder_path=str(out),
        repo_type="dataset",
        commit_message=message or f"taskforge export of {out.name}",
        delete_patterns=["data/*"],
    )
    return str(getattr(info, "commit_url", info))
