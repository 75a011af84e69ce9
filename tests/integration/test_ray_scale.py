"""Verification and the scale bench on a local Ray cluster (2 CPUs): 80 candidates get the same
verdicts and certificates as in-process, and ``bench scale`` measures local vs 1 and 2 workers
on one rollout. Skipped without ray."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from taskforge.cli.app import app
from tests.verify_candidates import candidates

ray = pytest.importorskip("ray", reason="ray is not installed (pip install 'taskforge[ray]')")


@pytest.fixture(scope="module")
def cluster() -> Iterator[None]:
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR)
    yield
    ray.shutdown()


def _json(*args: str) -> Any:
    result = CliRunner().invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def test_80_candidates_get_the_same_verdicts_on_ray(cluster: None, tmp_path: Path) -> None:
    tasks = candidates(n_per_family=20)
    assert len(tasks) == 80
    path = tmp_path / "candidates.json"
    path.write_text(json.dumps([t.model_dump(mode="json", exclude_none=True) for t in tasks]))
    local = _json("verify", str(path), "--out", str(tmp_path / "local.json"))
    on_ray = _json(
        "verify", str(path), "--executor", "ray", "--workers", "2",
        "--out", str(tmp_path / "ray.json"),
    )  # fmt: skip
    assert on_ray == local  # every verdict, reason and certificate, in order
    assert 0 < local["summary"]["n_accepted"] < 80
    assert (tmp_path / "ray.json").read_bytes() == (tmp_path / "local.json").read_bytes()


def test_bench_scale_measures_local_and_ray_on_one_rollout(cluster: None) -> None:
    report = _json("bench", "scale", "--tasks", "4", "--trials", "1", "--latency-ms", "20")
    assert set(report["ray"]) == {"1", "2"} and report["same_results"] is True
    assert report["ray"]["2"]["workers"] == 2 and report["ray"]["2"]["episodes"] == 4
    assert set(report["ratio_vs_local"]) == {"ray_1", "ray_2"}
    landing = report["landing"]
    assert landing["episodes"] == 4 and landing["shards"] == 4 and landing["episodes_per_s"] > 0


def test_synthesis_on_ray_accepts_and_certifies_what_local_does(
    cluster: None, tmp_path: Path
) -> None:
    args = ["synthesize", "--all", "--n", "6", "--seed", "4", "--embedder", "hashing"]
    local = _json(*args, "--out", str(tmp_path / "local.json"))
    on_ray = _json(*args, "--executor", "ray", "--workers", "2", "--out", str(tmp_path / "r.json"))
    assert {**on_ray, "out": None} == {**local, "out": None} and local["n_accepted"] > 0
    assert (tmp_path / "r.json").read_bytes() == (tmp_path / "local.json").read_bytes()
