"""Targeting check: do targeted tasks provoke the failures they were made for?

The current policy plays the targeted tasks and naive tasks from the same DB, ``trials`` times
each, and the diagnostic judge (mining's first stage: it names each failure's mechanism from
the evaluator's diff) classifies every failure. Per pattern the report gives:

* ``failure_rate_targeted`` / ``failure_rate_naive`` and their ratio ``failure_ratio``;
* ``pattern_rate_targeted`` / ``pattern_rate_naive``: episodes whose failure is classified into
  the pattern (:data:`PATTERN_MECHANISMS` says which mechanisms count as which pattern);
* ``targeting_precision``: the share of the failures on the targeted tasks classified into
  the pattern;
* ``targeting_precision_new``: the share of the *new* failures classified into the pattern.
  New failures are those beyond the naive base rate, mechanism by mechanism: for each
  mechanism, the targeted rate minus the naive rate (when positive). A policy that fails at
  some base rate on any task (a repeated read, a premature claim) fails at about that rate on
  targeted tasks too; those failures are not what targeting added, and
  ``targeting_precision`` counts them while ``targeting_precision_new`` does not. Both are
  reported.

A domain whose judge mechanisms are coarser than its failure patterns (Airline: a wrong flight,
cabin or bag count are all a ``wrong_argument``) names each failure's pattern from the judgment
through its synthesis kit's ``failure_pattern`` (see
:class:`~taskforge.domains.protocols.SynthesisKit`); otherwise an episode's label is the
judge's mechanism.

This is the offline path: the scripted policy and user (named simulations) through the direct
episode loop; with a trained policy, rollouts and mining give the same figures.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

from taskforge.contracts import Task, Trajectory
from taskforge.env.db import Database
from taskforge.env.evaluator import Evaluator
from taskforge.env.toolkit import Toolkit

SUCCESS = "success"
PATTERN_MECHANISMS: dict[str, frozenset[str]] = {
    "early_stop": frozenset({"early_stop", "missing_write"}),
}
"""Judge mechanisms that count as a pattern, where more than its own name: a request of
several that is never carried out is the same failure whether or not the agent claimed it."""


def mechanisms_of(pattern: str) -> frozenset[str]:
    """The judge mechanisms classified into ``pattern``."""
    return PATTERN_MECHANISMS.get(pattern, frozenset({pattern}))


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


def failure_labeler(toolkit_cls: type[Toolkit]) -> Callable[[dict[str, Any]], str]:
    """How a judgment's structured fields name its failure: the domain kit's
    ``failure_pattern``, else the judge's mechanism."""
    from taskforge.domains import domain_for_toolkit

    domain = domain_for_toolkit(toolkit_cls)
    kit = domain.synthesis_kit() if domain is not None and domain.has("synthesis") else None
    own = getattr(kit, "failure_pattern", None)
    return own if own is not None else (lambda structured: str(structured.get("mechanism")))


def classify_episodes(
    played: Sequence[tuple[Task, Trajectory]], toolkit_cls: type[Toolkit]
) -> list[str]:
    """The failure label (see :func:`failure_labeler`) of every failed episode,
    :data:`SUCCESS` for the others."""
    from taskforge.mining.judge import DiagnosticJudge

    judge = DiagnosticJudge(toolkit_cls)
    label = failure_labeler(toolkit_cls)
    out = []
    for task, traj in played:
        reward = traj.reward_info
        if reward is None or reward.reward >= 1:
            out.append(SUCCESS)
            continue
        out.append(label(judge.judge(task, traj, reward, traj.id).structured))
    return out


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
    targeted_played = _play(targeted, db, toolkit_cls, trials, seed, error_rates)
    naive_played = _play(naive, db, toolkit_cls, trials, seed, error_rates)
    naive_mechs = classify_episodes(naive_played, toolkit_cls)
    by_pattern: dict[str, list[str]] = {}
    for (task, _), mech in zip(
        targeted_played, classify_episodes(targeted_played, toolkit_cls), strict=True
    ):
        by_pattern.setdefault(task.pattern or "none", []).append(mech)
    return {
        "patterns": {p: pattern_row(p, m, naive_mechs) for p, m in sorted(by_pattern.items())},
        "failure_rate_naive": _rate(naive_mechs, lambda m: m != SUCCESS),
        "naive_episodes": len(naive_mechs),
        "trials": trials,
    }


def _rate(mechs: Sequence[str], hit: Any) -> float | None:
    return round(sum(1 for m in mechs if hit(m)) / len(mechs), 3) if mechs else None


def pattern_row(pattern: str, targeted: Sequence[str], naive: Sequence[str]) -> dict[str, Any]:
    """One pattern's figures from the mechanisms of its targeted episodes and the naive ones."""
    wanted = mechanisms_of(pattern)
    failures = [m for m in targeted if m != SUCCESS]
    fail_t, fail_n = _rate(targeted, lambda m: m != SUCCESS), _rate(naive, lambda m: m != SUCCESS)
    counts_t, counts_n = Counter(failures), Counter(m for m in naive if m != SUCCESS)
    excess = {
        m: counts_t[m] / len(targeted) - (counts_n[m] / len(naive) if naive else 0.0)
        for m in counts_t
    }
    new = {m: v for m, v in excess.items() if v > 0}
    new_total = sum(new.values())
    return {
        "episodes": len(targeted),
        "failure_rate_targeted": fail_t,
        "failure_rate_naive": fail_n,
        "failure_ratio": round(fail_t / fail_n, 2) if fail_t is not None and fail_n else None,
        "pattern_rate_targeted": _rate(targeted, lambda m: m in wanted),
        "pattern_rate_naive": _rate(naive, lambda m: m in wanted),
        "targeting_precision": round(sum(1 for m in failures if m in wanted) / len(failures), 3)
        if failures
        else None,
        "targeting_precision_new": round(
            sum(v for m, v in new.items() if m in wanted) / new_total, 3
        )
        if new_total
        else None,
        "mechanisms": dict(sorted(counts_t.items())),
    }


__all__ = [
    "PATTERN_MECHANISMS",
    "SUCCESS",
    "classify_episodes",
    "failure_labeler",
    "mechanisms_of",
    "pattern_row",
    "targeting_check",
]
