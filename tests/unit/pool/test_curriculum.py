"""The curriculum on real scored trajectories: pass-rate band, retirement, seeded quotas."""

from __future__ import annotations

import random
from pathlib import Path

from taskforge.contracts import Curriculum, PoolEntry, Task
from taskforge.pool import apply_curriculum, build_pool, entry_for, task_evidence
from taskforge.pool.curriculum import Evidence
from taskforge.warehouse import Warehouse
from taskforge.warehouse.rows import task_uid
from tests.unit.pool.conftest import play


def _status(entries: list[PoolEntry]) -> dict[str, tuple[str, str | None]]:
    return {e.task_id: (e.status, (e.reason or "").split(":")[0] or None) for e in entries}


def test_band_drops_always_and_never_solved_tasks_with_enough_trials(
    tmp_path: Path, targeted: list[Task]
) -> None:
    a, b, c, d, e = (t.id for t in targeted[:5])
    outcomes = {
        a: [True, True, True, True],  # always solved -> too easy
        b: [False, False, False, False],  # never solved -> too hard
        c: [True, False, True, False],  # in the band
        d: [True],  # one trial: too little evidence for the band
    }  # e is never played
    wh_path = tmp_path / "w.duckdb"
    play(tmp_path / "r1.jsonl", wh_path, "run-1", "2026-01-01T00:00:00", outcomes, targeted)
    with Warehouse.open(wh_path) as wh:
        pool = build_pool(wh, "p", 1, targeted[:5], Curriculum(pass_band=(0.05, 0.95)))
    status = _status(pool.entries)
    assert status == {
        a: ("dropped", "too_easy"),
        b: ("dropped", "too_hard"),
        c: ("active", None),
        d: ("active", None),
        e: ("active", None),
    }
    rates = {x.task_id: (x.pass_rate, x.n_trials) for x in pool.entries}
    assert rates == {a: (1.0, 4), b: (0.0, 4), c: (0.5, 4), d: (1.0, 1), e: (None, 0)}


def test_band_agrees_with_the_warehouse_pass_rates_of_a_scripted_rollout(
    tmp_path: Path, targeted: list[Task]
) -> None:
    from taskforge.cli.common import write_tasks
    from taskforge.contracts.io import load_tasks
    from taskforge.rollout.api import RolloutRequest, run_rollout

    write_tasks(tmp_path / "tasks.json", targeted[:8])
    tasks = load_tasks(tmp_path / "tasks.json")  # keys follow the JSON, as the rollout reads it
    wh_path = tmp_path / "w.duckdb"
    request = RolloutRequest(
        tasks_path=tmp_path / "tasks.json", trials=4, out_dir=tmp_path / "r", warehouse=wh_path
    )
    run_rollout(request)
    with Warehouse.open(wh_path) as wh:
        recorded = dict(wh.con.execute("SELECT task_uid, pass_1 FROM pass_k_task").fetchall())
        pool = build_pool(wh, "p", 1, tasks, Curriculum(pass_band=(0.05, 0.95)))
    assert len(recorded) == len(tasks)
    for entry in pool.entries:
        assert entry.n_trials == 4
        assert entry.pass_rate == round(recorded[entry.task_uid], 6)
        inside = 0.05 <= entry.pass_rate <= 0.95
        assert (entry.status == "active") == inside, entry


def test_retirement_needs_consecutive_fully_solved_evaluations(
    tmp_path: Path, targeted: list[Task]
) -> None:
    a, b, c = (t.id for t in targeted[:3])
    wh_path = tmp_path / "w.duckdb"
    # run-2 is played first but is the newer run: order comes from created_at
    play(
        tmp_path / "2.jsonl",
        wh_path,
        "run-2",
        "2026-02-01T00:00:00",
        {a: [True, True], b: [True, True], c: [False, True]},
        targeted,
    )
    play(
        tmp_path / "1.jsonl",
        wh_path,
        "run-1",
        "2026-01-01T00:00:00",
        {a: [True, True], b: [True, False], c: [True, True]},
        targeted,
    )
    with Warehouse.open(wh_path) as wh:
        two = build_pool(wh, "p", 1, targeted[:3], Curriculum(retire_after=2))
        one = build_pool(wh, "q", 1, targeted[:3], Curriculum(retire_after=1))
        only_run_1 = build_pool(
            wh, "r", 1, targeted[:3], Curriculum(retire_after=1, runs=["run-1"])
        )
    assert _status(two.entries) == {
        a: ("retired", "retired"),
        b: ("active", None),
        c: ("active", None),
    }
    assert _status(one.entries) == {
        a: ("retired", "retired"),
        b: ("retired", "retired"),
        c: ("active", None),
    }
    assert _status(only_run_1.entries)[c] == ("retired", "retired")
    assert {e.task_id: e.n_trials for e in only_run_1.entries}[b] == 2


def test_rebuilding_after_new_evidence_updates_the_round(
    tmp_path: Path, targeted: list[Task]
) -> None:
    a = targeted[0].id
    wh_path = tmp_path / "w.duckdb"
    with Warehouse.open(wh_path) as wh:
        before = build_pool(wh, "p", 1, targeted[:3], Curriculum(pass_band=(0.1, 0.9)))
    play(tmp_path / "1.jsonl", wh_path, "run-1", "2026-01-01T00:00:00", {a: [True] * 4}, targeted)
    with Warehouse.open(wh_path) as wh:
        after = build_pool(wh, "p", 1)  # the round's own curriculum, today's evidence
        stored = wh.con.execute("SELECT status FROM task_pools WHERE pass_rate = 1").fetchall()
    assert _status(before.entries)[a] == ("active", None)
    assert _status(after.entries)[a] == ("dropped", "too_easy")
    assert stored == [("dropped",)]


def test_evidence_orders_runs_by_creation_time(tmp_path: Path, targeted: list[Task]) -> None:
    a = targeted[0].id
    wh_path = tmp_path / "w.duckdb"
    play(tmp_path / "b.jsonl", wh_path, "run-b", "2026-03-01", {a: [False, True, True]}, targeted)
    play(tmp_path / "a.jsonl", wh_path, "run-a", "2026-01-01", {a: [True]}, targeted)
    uid = task_uid(targeted[0], "retail")
    with Warehouse.open(wh_path, read_only=True) as wh:
        ev = task_evidence(wh, [uid])[uid]
    assert ev.evaluations == [(1, 1), (3, 2)]
    assert ev.n_trials == 4 and ev.pass_rate == 0.75
    assert ev.solved_last(1) is False and Evidence([(2, 2)]).solved_last(1)


def test_quotas_are_a_seeded_sample_independent_of_order(targeted: list[Task]) -> None:
    entries = [entry_for(t, task_uid(t, "retail"), "retail", 1) for t in targeted]
    per_pattern = {p: sum(e.pattern == p for e in entries) for p in {e.pattern for e in entries}}
    assert max(per_pattern.values()) >= 3
    cur = Curriculum(quotas={"*": 2, "wrong_order": 1})

    def kept(seed: int, order: list[PoolEntry]) -> set[str]:
        judged = apply_curriculum(order, {}, cur.model_copy(update={"seed": seed}))
        return {e.task_uid for e in judged if e.status == "active"}

    shuffled = entries[:]
    random.Random(1).shuffle(shuffled)
    assert kept(0, entries) == kept(0, shuffled)
    chosen = [e for e in entries if e.task_uid in kept(0, entries)]
    for pattern, n in per_pattern.items():
        limit = 1 if pattern == "wrong_order" else 2
        assert sum(e.pattern == pattern for e in chosen) == min(n, limit)
    assert len({frozenset(kept(s, entries)) for s in range(5)}) > 1  # the seed matters
    dropped = [e for e in apply_curriculum(entries, {}, cur) if e.status == "dropped"]
    assert dropped and all(e.reason and e.reason.startswith("quota: pattern") for e in dropped)


def test_no_curriculum_offers_everything_with_its_evidence(targeted: list[Task]) -> None:
    entries = [entry_for(t, task_uid(t, "retail"), "retail", 1) for t in targeted[:2]]
    evidence = {entries[0].task_uid: Evidence([(4, 4), (4, 4)])}
    judged = apply_curriculum(entries, evidence, None)
    assert [e.status for e in judged] == ["active", "active"]
    assert (judged[0].pass_rate, judged[0].n_trials) == (1.0, 8)
