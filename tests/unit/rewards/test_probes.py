"""Reward-hacking probes: every adversarial trajectory below the honest one, except sparse."""

from __future__ import annotations

import pytest

from taskforge.contracts import Task, TerminationReason
from taskforge.rewards import PROBES, ProbeTable, Scorer, probe, probe_messages
from taskforge.rewards.probes import LOOP_REPEATS, ProbeInput


@pytest.fixture(scope="module")
def tables(seed_tasks: list[Task], shipped_db) -> dict[str, ProbeTable]:  # type: ignore[no-untyped-def]
    return {
        name: probe(seed_tasks, name, shipped_db)
        for name in ("raft", "no-repeat-penalty", "success-only")
    }


@pytest.mark.parametrize("spec", ["raft", "no-repeat-penalty"])
def test_every_probe_is_strictly_below_honest_on_every_seed_task(
    tables: dict[str, ProbeTable],
    seed_tasks: list[Task],
    retail,
    spec: str,  # type: ignore[no-untyped-def]
) -> None:
    table = tables[spec]
    assert table.violations == [] and not table.sparse
    for task in seed_tasks:
        scores = table.scores[task.id]
        assert scores["honest"] == 1.0
        assert {"tool_call_loop", "padded_reasoning", "early_stop", "extra_write"} <= set(scores)
        for name, value in scores.items():
            assert name == "honest" or value < scores["honest"], (task.id, name)
    rows = {r.probe: r for r in table.rows}
    assert rows["tool_call_loop"].n_tasks == rows["padded_reasoning"].n_tasks == len(seed_tasks)
    # claiming success needs a write to skip: the read-only seed tasks have none
    specs = retail.toolkit_cls.specs
    read_only = [t for t in seed_tasks if not any(specs[a.name].mutates for a in t.gold_actions())]
    assert read_only
    assert rows["claimed_success"].n_tasks == len(seed_tasks) - len(read_only)


def test_no_repeat_penalty_still_catches_the_loop_by_its_length(
    tables: dict[str, ProbeTable],
) -> None:
    raft = {r.probe: r for r in tables["raft"].rows}
    no_repeat = {r.probe: r for r in tables["no-repeat-penalty"].rows}
    assert raft["tool_call_loop"].mean_gap > no_repeat["tool_call_loop"].mean_gap > 0  # type: ignore[operator]


def test_success_only_is_blind_to_loops_but_not_to_early_stops(
    tables: dict[str, ProbeTable], seed_tasks: list[Task]
) -> None:
    table = tables["success-only"]
    assert table.sparse
    for task in seed_tasks:
        scores = table.scores[task.id]
        assert scores["early_stop"] == 0.0 and scores["extra_write"] == 0.0
        assert scores["tool_call_loop"] == scores["honest"] == 1.0
        assert scores["padded_reasoning"] == 1.0
    assert {r.probe for r in table.violations} == {
        "tool_call_loop",
        "padded_reasoning",
        "invalid_calls",
        "malformed_calls",
    }


def test_probe_trajectories_are_what_they_claim(
    seed_tasks: list[Task],
    shipped_db,
    retail,  # type: ignore[no-untyped-def]
) -> None:
    scorer = Scorer(retail.toolkit_cls, shipped_db)
    task = seed_tasks[0]
    inp = ProbeInput(task, scorer.gold_messages(task), retail.toolkit_cls, shipped_db, "retail")
    episodes = probe_messages(inp)
    assert set(episodes) == {"honest", *PROBES}
    honest_calls = [c for m in episodes["honest"] for c in m.tool_calls or []]
    loop_calls = [c for m in episodes["tool_call_loop"] for c in m.tool_calls or []]
    assert len(loop_calls) == len(honest_calls) + LOOP_REPEATS
    assert {(c.name, str(c.arguments)) for c in loop_calls[len(honest_calls) :]} == {
        (loop_calls[-1].name, str(loop_calls[-1].arguments))
    }
    for name, messages in episodes.items():  # every tool output is real and answers its call
        calls = [c.id for m in messages for c in m.tool_calls or []]
        assert [m.id for m in messages if m.role == "tool"] == calls, name
    breakdown = {
        name: scorer.score(task, messages, TerminationReason.USER_STOP, "raft")
        for name, messages in episodes.items()
    }
    assert breakdown["extra_write"].notes.n_extra_writes == 1
    assert breakdown["early_stop"].notes.n_gold_writes_matched == 0
    assert breakdown["claimed_success"].success.db_match is False
    assert breakdown["invalid_calls"].notes.n_invalid_calls == 3
    assert breakdown["malformed_calls"].notes.n_format_errors == 2
    assert breakdown["padded_reasoning"].notes.n_assistant_tokens > 8000


def test_tau2_tasks_under_raft(tau2_tasks, tau2_db) -> None:  # type: ignore[no-untyped-def]
    table = probe(tau2_tasks, "raft", tau2_db)
    assert table.violations == []
    rows = {r.probe: r for r in table.rows}
    assert rows["honest"].n_tasks == 114 and rows["honest"].mean_score == 1.0
    # read-only tasks whose only other check is an NL assertion cannot be stopped early
    assert rows["early_stop"].n_tasks < 114
