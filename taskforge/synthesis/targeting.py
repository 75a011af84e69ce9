"""Targeting check: do targeted tasks provoke the failures they were made for?

The current policy plays the targeted tasks and naive tasks from the same DB. Per pattern the
report gives the failure rate on each, and the targeting precision: the share of failures on
the targeted tasks that the diagnostic judge classifies back into the task's pattern.

This is the offline path: the scripted policy and user (named simulations) through the direct
episode loop; with a trained policy, rollouts and mining give the same figures.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from taskforge.contracts import Task, Trajectory
from taskforge.env.db import Database
from taskforge.env.evaluator import Evaluator
from taskforge.env.toolkit import Toolkit


def _play(
    tasks: Sequence[Task],
    db: Database,
    toolkit_cls: type[Toolkit],
    trials: int,
    seed: int,
    error_rates: dict[str, float] | None,
) -> list[tuple[Task, Trajectory]]:
    from taskforge.rollout.scripted_loop import scripted_trajectory

    evaluator = Evaluator(toolkit_cls, db)
    return [
        (
            task,
            scripted_trajectory(
                task, db, evaluator, error_rates, seed * 7919 + trial, f"{task.id}:{trial}", trial
            ),
        )
        for task in tasks
        for trial in range(trials)
    ]


def targeting_check(
    targeted: Sequence[Task],
    naive: Sequence[Task],
    db: Database,
    toolkit_cls: type[Toolkit],
    trials: int = 4,
    seed: int = 0,
    error_rates: dict[str, float] | None = None,
) -> dict[str, Any]:
    """Failure rates of the targeted vs the naive tasks, and precision per pattern."""
    from taskforge.mining.judge import DiagnosticJudge

    judge = DiagnosticJudge(toolkit_cls)
    mechanisms: dict[str, list[str]] = {}
    for name, tasks in (("targeted", targeted), ("naive", naive)):
        played = _play(tasks, db, toolkit_cls, trials, seed, error_rates)
        mechanisms[name] = [
            judge.judge(task, traj, traj.reward_info, traj.id).structured.get("mechanism", "other")
            if traj.reward_info and traj.reward_info.reward < 1
            else "success"
            for task, traj in played
        ]
        mechanisms[f"{name}_patterns"] = [task.pattern or "none" for task, _ in played]
    return _report(mechanisms)


def _report(m: dict[str, list[str]]) -> dict[str, Any]:
    naive_total = len(m["naive"])
    per_pattern: dict[str, dict[str, Any]] = defaultdict(dict)
    for pattern in sorted(set(m["targeted_patterns"])):
        rows = [
            mech
            for mech, p in zip(m["targeted"], m["targeted_patterns"], strict=True)
            if p == pattern
        ]
        failures = [mech for mech in rows if mech != "success"]
        naive_hits = sum(mech == pattern for mech in m["naive"])
        per_pattern[pattern] = {
            "episodes": len(rows),
            "failure_rate_targeted": round(len(failures) / len(rows), 3),
            "pattern_rate_targeted": round(sum(f == pattern for f in failures) / len(rows), 3),
            "pattern_rate_naive": round(naive_hits / naive_total, 3) if naive_total else None,
            "targeting_precision": round(sum(f == pattern for f in failures) / len(failures), 3)
            if failures
            else None,
        }
    naive_failures = sum(mech != "success" for mech in m["naive"])
    return {
        "patterns": dict(per_pattern),
        "failure_rate_naive": round(naive_failures / naive_total, 3) if naive_total else None,
    }
