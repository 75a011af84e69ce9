"""Hugging Face export: files, dataset card, features, round trips, determinism, push."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
import yaml

from taskforge.contracts import Task, TaskPool
from taskforge.env.db import Database
from taskforge.errors import DataError
from taskforge.export import (
    assign_splits,
    columns,
    export_hf,
    pair_tasks,
    parse_splits,
    push_to_hub,
    read_manifest,
    row_to_task,
    split_of,
)
from taskforge.export.hf_schema import arrow_schema
from taskforge.pool import pool_from_tasks
from taskforge.warehouse.rows import task_uid

Union = tuple[TaskPool, list[Task]]


def _files(out: Path) -> dict[str, bytes]:
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("*") if p.is_file()}


def _card(out: Path) -> tuple[dict[str, Any], str]:
    _, front, body = (out / "README.md").read_text().split("---\n", 2)
    return yaml.safe_load(front), body


def _rows(out: Path) -> list[dict[str, Any]]:
    return [r for p in sorted(out.glob("data/*.parquet")) for r in pq.read_table(p).to_pylist()]


def test_export_writes_shards_db_manifest_and_card(
    tmp_path: Path, union: Union, bundled_db: Database
) -> None:
    pool, tasks = union
    result = export_hf(pool, tasks, bundled_db, tmp_path / "hf", command="taskforge export hf")
    out = result.out
    counts = result.manifest.extra["split_counts"]
    assert sum(counts.values()) == len(tasks) == len(pool.active())
    assert set(_files(out)) == {
        "README.md",
        "db.json",
        "taskforge_export.json",
        *(f"data/{s}-00000-of-00001.parquet" for s, n in counts.items() if n),
    }
    meta, body = _card(out)
    assert meta["license"] == "mit"
    assert {"text-generation", "reinforcement-learning"} <= set(meta["task_categories"])
    assert meta["size_categories"] == ["n<1K"]
    files = meta["configs"][0]["data_files"]
    assert files == [{"split": s, "path": f"data/{s}-*.parquet"} for s, n in counts.items() if n]
    info = meta["dataset_info"]
    assert info["features"] == [c.yaml() for c in columns()]
    assert {s["name"]: s["num_examples"] for s in info["splits"]} == {
        s: n for s, n in counts.items() if n
    }
    for pattern, n in pool.summary()["by_pattern"].items():
        assert f"| {pattern} |" in body and f" | {n} |\n" in body + "\n"
    certified = sum(e.has_certificate for e in pool.active())
    assert f"{certified} of {len(tasks)} tasks" in body and "taskforge export hf" in body
    manifest = read_manifest(out)
    assert manifest.pool == pool and manifest.extra["db_hash"] == bundled_db.hash
    assert manifest.files["db.json"] and "README.md" in manifest.files


def test_every_row_round_trips_to_an_equal_task(
    tmp_path: Path, union: Union, bundled_db: Database
) -> None:
    pool, tasks = union
    out = export_hf(pool, tasks, bundled_db, tmp_path / "hf").out
    assert pq.read_table(next(out.glob("data/*.parquet"))).schema.equals(arrow_schema())
    by_uid = {task_uid(t, "retail"): t for t in tasks}
    rows = _rows(out)
    assert len(rows) == len(tasks)
    for row in rows:
        assert row_to_task(row) == by_uid[row["task_uid"]]
        assert row["pool"] == "demo" and row["n_actions"] == len(
            by_uid[row["task_uid"]].gold_actions()
        )
    rounds = {r["round"] for r in rows}
    assert rounds == {1, 2}


def test_export_is_deterministic_and_replaces_stale_shards(
    tmp_path: Path, union: Union, bundled_db: Database
) -> None:
    pool, tasks = union
    a, b = tmp_path / "a", tmp_path / "b"
    export_hf(pool, tasks, bundled_db, a, shard_rows=3)
    assert len(list(a.glob("data/train-*.parquet"))) > 1
    export_hf(pool, tasks, bundled_db, a)
    export_hf(pool, tasks, bundled_db, b)
    assert len(list(a.glob("data/train-*.parquet"))) == 1
    assert _files(a) == _files(b)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging left


def test_a_folder_that_is_not_an_export_is_never_overwritten(
    tmp_path: Path, union: Union, bundled_db: Database
) -> None:
    (tmp_path / "mine.txt").write_text("keep me")
    with pytest.raises(DataError, match="not a taskforge export"):
        export_hf(*union, bundled_db, tmp_path)
    assert (tmp_path / "mine.txt").read_text() == "keep me"


def test_load_dataset_offline_gives_the_documented_features(
    tmp_path: Path, union: Union, bundled_db: Database
) -> None:
    from taskforge.errors import TaskforgeError
    from taskforge.export import hf_features
    from taskforge.export.hf_schema import import_datasets

    try:  # importorskip would take the repository's datasets/ data folder for the package
        datasets = import_datasets()
    except TaskforgeError:
        pytest.skip("the hf extra (Hugging Face datasets) is not installed")

    assert os.environ["HF_DATASETS_OFFLINE"] == "1"
    pool, tasks = union
    out = export_hf(pool, tasks, bundled_db, tmp_path / "hf").out
    ds = datasets.load_dataset(str(out))
    assert isinstance(ds, datasets.DatasetDict)
    counts = read_manifest(out).extra["split_counts"]
    assert {s: len(d) for s, d in ds.items()} == {s: n for s, n in counts.items() if n}
    by_uid = {task_uid(t, "retail"): t for t in tasks}
    for split in ds.values():
        assert split.features == hf_features()
        assert all(row_to_task(row) == by_uid[row["task_uid"]] for row in split)


def test_ids_shared_by_different_tasks_become_unique(union: Union) -> None:
    tasks = union[1]
    twin = tasks[0].model_copy(update={"ticket": "a changed task with the same id"})
    doubled = pool_from_tasks("d", 1, [tasks[0], twin, tasks[1]])
    pairs = pair_tasks(doubled, [tasks[0], twin, tasks[1]])
    ids = [t.id for _, t in pairs]
    assert len(set(ids)) == 3 and tasks[1].id in ids
    assert sum(i.startswith(tasks[0].id + "-") for i in ids) == 2


def test_certified_tasks_refuse_a_different_db(
    tmp_path: Path, union: Union, bundled_db: Database
) -> None:
    data = {t: dict(recs) for t, recs in bundled_db.to_dict().items()}
    data["users"].pop(next(iter(data["users"])))
    other = type(bundled_db).from_dict(data)
    with pytest.raises(DataError, match="certified on DB"):
        export_hf(*union, other, tmp_path / "hf")


def test_splits_depend_only_on_the_task_key_and_seed(union: Union) -> None:
    pool, tasks = union
    pairs = pair_tasks(pool, tasks)
    splits = {"train": 0.5, "test": 0.5}
    whole = assign_splits(pairs, splits, 3)
    part = assign_splits(pairs[:5], splits, 3)
    for name, chosen in part.items():
        assert all(p in whole[name] for p in chosen)
    uids = [f"task-{i:024x}" for i in range(2000)]
    share = sum(split_of(u, {"train": 0.9, "validation": 0.1}, 0) == "validation" for u in uids)
    assert 140 < share < 260  # about 10 %
    assert parse_splits(["train=0.8", "test=0.2"]) == {"train": 0.8, "test": 0.2}
    for bad in (["train=0.5"], ["train"], ["train=x"], ["9x=1.0"]):
        with pytest.raises(DataError):
            parse_splits(bad)


class FakeHub:
    """Records what push_to_hub asks of huggingface_hub's HfApi (no network)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def create_repo(self, repo_id: str, **kwargs: Any) -> None:
        self.calls.append(("create_repo", {"repo_id": repo_id, **kwargs}))

    def upload_folder(self, **kwargs: Any) -> Any:
        self.calls.append(("upload_folder", kwargs))
        return type("CommitInfo", (), {"commit_url": "https://hf.co/datasets/me/ds/commit/1"})()


def test_push_creates_the_dataset_repo_and_uploads_the_folder(
    tmp_path: Path, union: Union, bundled_db: Database
) -> None:
    out = export_hf(*union, bundled_db, tmp_path / "hf").out
    hub = FakeHub()
    assert push_to_hub(out, "me/ds", api=hub, private=True).endswith("/commit/1")
    (create, kw1), (upload, kw2) = hub.calls
    assert create == "create_repo" and kw1["repo_type"] == "dataset" and kw1["private"] is True
    assert kw1["exist_ok"] is True and kw1["repo_id"] == "me/ds"
    assert upload == "upload_folder" and kw2["folder_path"] == str(out)
    assert kw2["repo_type"] == "dataset" and kw2["delete_patterns"] == ["data/*"]


def test_push_without_a_token_is_a_one_line_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hub = pytest.importorskip("huggingface_hub", reason="the hf extra is not installed")
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.setattr(hub, "get_token", lambda: None)
    with pytest.raises(DataError, match="HF_TOKEN"):
        push_to_hub(tmp_path, "me/ds")
