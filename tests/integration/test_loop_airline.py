"""`taskforge loop` with ``domain: airline`` (offline): the round runs on Airline end to end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from taskforge.cli.app import app
from taskforge.contracts.io import load_tasks
from taskforge.domains import get_domain
from taskforge.synthesis.verify import verify_task
from taskforge.warehouse import Warehouse

CONFIG = """\
name: airline-loop
domain: airline
rounds: 1
trials: 2
mining: {embedder: hashing}
synthesis: {embedder: hashing, n_per_pattern: 3}
exports: [hf, tau2, verl]
"""


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    tmp_path = tmp_path_factory.mktemp("airline-loop")
    (tmp_path / "loop.yaml").write_text(CONFIG)
    argv = ["loop", "--config", str(tmp_path / "loop.yaml"), "--out", str(tmp_path / "out")]
    result = CliRunner().invoke(app, [*argv, "--json"])
    assert result.exit_code == 0, result.stderr
    return tmp_path, json.loads(result.stdout)


def test_an_airline_round_mines_synthesizes_and_pools(finished: tuple[Path, dict]) -> None:
    tmp_path, summary = finished
    (row,) = summary["rounds"]
    seeds = load_tasks(tmp_path / "out" / "round-00" / "pool_tasks.json")
    shipped = load_tasks(get_domain("airline").default_db_path.parent / "seed_tasks.json")  # type: ignore[union-attr]
    assert [t.id for t in seeds] == [t.id for t in shipped]
    assert row["episodes"] == len(seeds) * 2 and row["failures_by_pattern"]
    assert row["tasks_added"] > 0 and row["pool_size"] == len(seeds) + row["tasks_added"]
    with Warehouse.open(tmp_path / "out" / "taskforge.duckdb", read_only=True) as wh:
        domains = set(wh.query("SELECT DISTINCT domain FROM runs")["domain"])
    assert domains == {"airline"}


def test_the_targeted_airline_tasks_are_certified_and_answer_mined_patterns(
    finished: tuple[Path, dict],
) -> None:
    tmp_path, _ = finished
    dom = get_domain("airline")
    kit = dom.synthesis_kit()
    targeted = load_tasks(tmp_path / "out" / "round-01" / "targeted_tasks.json")
    assert targeted and {t.pattern for t in targeted} <= set(kit.FAMILY_PATTERNS.values())
    db = dom.load_db()
    for task in targeted:
        assert task.certificate is not None and task.certificate.noop_reward == 0.0
        assert task.lineage is not None and task.lineage.round == 1
        assert task.lineage.pattern_id and task.lineage.source_failures
        assert verify_task(task, dom.toolkit_cls, db).accepted


def test_the_airline_pool_is_exported_in_every_form(finished: tuple[Path, dict]) -> None:
    tmp_path, summary = finished
    export = tmp_path / "out" / "round-01" / "export"
    pool = load_tasks(tmp_path / "out" / "round-01" / "pool_tasks.json")
    assert len(pool) == summary["rounds"][0]["pool_size"]
    tau2 = load_tasks(export / "tau2" / "tau2" / "domains" / "airline" / "tasks.json")
    assert sorted(t.id for t in tau2) == sorted(t.id for t in pool)
    assert list((export / "verl").glob("*.parquet")) and (export / "hf").is_dir()
