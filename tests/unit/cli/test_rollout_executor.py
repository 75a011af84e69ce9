"""`taskforge rollout --executor/--ray-address/--workers`: wrong values are one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from taskforge.cli.app import app

SEEDS = Path(__file__).resolve().parents[3] / "datasets" / "retail" / "seed_tasks.json"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--executor", "dask"], "--executor: field kind: Input should be 'local' or 'ray'"),
        (["--ray-address", "auto"], "address is only for the ray executor"),
    ],
)
def test_bad_executor_options_exit_2_in_one_line(
    tmp_path: Path, options: list[str], message: str
) -> None:
    args = ["rollout", "--tasks", str(SEEDS), "--limit", "1", "--out", str(tmp_path / "r")]
    result = CliRunner().invoke(app, [*args, "--warehouse", str(tmp_path / "w.duckdb"), *options])
    assert result.exit_code == 2 and message in result.stderr
    assert not (tmp_path / "r").exists()  # refused before anything was played


def test_workers_cannot_be_negative(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["rollout", "--tasks", str(SEEDS), "--workers", "-1"])
    assert result.exit_code == 2 and "--workers" in result.stderr
