"""Mining on a local Ray cluster (2 CPUs): judging and MiniLM embedding fanned out in chunks
give the verdicts, vectors (float tolerance) and clusters of the in-process run. Skipped
without ray."""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from taskforge.cli.app import app
from taskforge.warehouse import Warehouse
from tests.unit.mining.test_pipeline import _warehouse, bench  # noqa: F401 (fixture)

ray = pytest.importorskip("ray", reason="ray is not installed (pip install 'taskforge[ray]')")


@pytest.fixture(scope="module")
def cluster() -> Iterator[None]:
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR)
    yield
    ray.shutdown()


def _mine(warehouse: Path, *extra: str) -> dict[str, Any]:
    args = ["mine", "--warehouse", str(warehouse), "--min-cluster-size", "5", "--json", *extra]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    summary: dict[str, Any] = json.loads(result.stdout)
    return summary


def _stored(warehouse: Path) -> tuple[list[tuple[Any, ...]], np.ndarray, list[tuple[Any, ...]]]:
    """Judgments, embedding vectors, and pattern memberships of a mined warehouse."""
    with Warehouse.open(warehouse, read_only=True) as wh:
        judgments = wh.con.execute(
            "SELECT * EXCLUDE (created_at) FROM judgments ORDER BY ALL"
        ).fetchall()
        vectors = wh.query("SELECT vector FROM embeddings ORDER BY text_hash")["vector"]
        members = wh.con.execute(
            "SELECT p.name, list(a.traj_uid ORDER BY a.traj_uid) FROM patterns p "
            "JOIN pattern_assignments a USING (pattern_id) GROUP BY ALL ORDER BY ALL"
        ).fetchall()
    return judgments, np.asarray(vectors.to_list(), dtype=np.float32), members


def test_workers_import_this_tree(cluster: None) -> None:
    import taskforge

    where = ray.get(ray.remote(lambda: __import__("taskforge").__file__).remote())
    assert where == taskforge.__file__


def test_mining_on_ray_gives_the_local_taxonomy(
    cluster: None,
    tmp_path: Path,
    bench: Path,  # noqa: F811
) -> None:
    (tmp_path / "a").mkdir()
    local_wh = _warehouse(tmp_path / "a", bench)
    (tmp_path / "b").mkdir()
    shutil.copy(local_wh, tmp_path / "b" / "w.duckdb")
    local = _mine(local_wh)
    on_ray = _mine(tmp_path / "b" / "w.duckdb", "--executor", "ray", "--workers", "2")
    assert on_ray == local and local["n_failures"] == 72 and local["n_patterns"] >= 2
    judgments, vectors, members = _stored(local_wh)
    ray_judgments, ray_vectors, ray_members = _stored(tmp_path / "b" / "w.duckdb")
    assert ray_judgments == judgments and ray_members == members
    assert vectors.shape == ray_vectors.shape and vectors.shape[1] == 384
    assert np.allclose(ray_vectors, vectors, atol=1e-5)
