"""Mining end to end on the project's failure benchmark: taxonomy, lineage, quarantine, views."""

from __future__ import annotations

from pathlib import Path

import pytest

from taskforge.domains import get_domain
from taskforge.mining.failure_bench import BENCH_RUN_ID, generate_failure_bench
from taskforge.mining.pipeline import mine
from taskforge.mining.stages import build_stages
from taskforge.warehouse import Warehouse, get_adapter, ingest_paths
from tests.unit.warehouse.conftest import REPO


@pytest.fixture(scope="module")
def bench(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from taskforge.contracts.io import load_tasks

    dom = get_domain("retail")
    tasks = load_tasks(REPO / "datasets" / "retail" / "seed_tasks.json")
    out = tmp_path_factory.mktemp("bench")
    generate_failure_bench(out, tasks, dom.load_db(), dom.toolkit_cls, per_mode=12, seed=3)
    return out / "failures.jsonl.gz"


def _warehouse(tmp_path: Path, bench: Path) -> Path:
    path = tmp_path / "w.duckdb"
    ingest_paths(path, get_adapter("jsonl"), [bench])
    return path


def test_mine_stores_a_versioned_taxonomy(tmp_path: Path, bench: Path) -> None:
    path = _warehouse(tmp_path, bench)
    with Warehouse.open(path) as wh:
        stages = build_stages(
            wh, get_domain("retail").toolkit_cls, embedder="hashing", min_cluster_size=5
        )
        first = mine(wh, stages, runs=[BENCH_RUN_ID])
        second = mine(wh, stages, runs=[BENCH_RUN_ID])
        n_judgments = wh.scalar("SELECT count(*) FROM judgments")
        rates = wh.query("SELECT * FROM failure_rate_by_pattern WHERE taxonomy_version = 2")
        top = wh.query("SELECT * FROM pattern_exemplars WHERE rank <= 3 AND taxonomy_version = 2")
    assert first.n_failures == 72 and n_judgments == 72  # judgments are not stored twice
    assert (first.taxonomy.version, second.taxonomy.version) == (1, 2)
    agent = [p for p in first.taxonomy.patterns if not p.quarantined]
    assert len(agent) >= 2 and all(p.name and p.description for p in agent)
    lineages = {p.lineage_id for p in agent}
    assert {p.lineage_id for p in second.taxonomy.patterns if not p.quarantined} == lineages
    assert rates["n_failures"].sum() == 72 and rates["failure_rate"].max() <= 1.0
    assert set(top["rank"].to_list()) <= {1, 2, 3} and top.height >= len(agent)


def test_failures_not_blamed_on_the_agent_are_quarantined(tmp_path: Path, bench: Path) -> None:
    path = _warehouse(tmp_path, bench)
    with Warehouse.open(path) as wh:
        wh.con.execute(
            "UPDATE trajectories SET termination_reason = 'infrastructure_error' "
            "WHERE traj_uid IN (SELECT traj_uid FROM trajectories LIMIT 4)"
        ).fetchall()
        stages = build_stages(
            wh, get_domain("retail").toolkit_cls, embedder="hashing", min_cluster_size=5
        )
        result = mine(wh, stages, runs=[BENCH_RUN_ID])
    quarantined = [p for p in result.taxonomy.patterns if p.quarantined]
    assert quarantined and sum(len(p.members) for p in quarantined) >= 4
    assert all(p.lineage_id.startswith("quarantine-") for p in quarantined)
