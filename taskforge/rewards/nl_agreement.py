"""How far recomputed tau2 rewards agree with the recorded ones, NL assertions judged.

For every simulation of a tau2 results file: the recorded and recomputed DB reward (as
``taskforge eval tau2-results`` always reported), the recorded and recomputed total reward (NL
assertions decided by the given judge; with none they are skipped and the total is the product
of the other components), and the totals that fixed verdicts would give (every assertion met;
none met). The summary counts the agreements, so that the judge can be compared with a constant:
a judge that agrees no more often than the better constant has learnt nothing from the dialogue.

Note that a recorded reward is only as good as the run that made it: tau2 graded with its
``ENV`` evaluation type never judged NL assertions, so there agreement measures how often the
judge says "met" on episodes that tau2 did not judge.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from taskforge.contracts import (
    Message,
    NLAssertionCheck,
    RewardInfo,
    RewardType,
    Task,
    Tau2Results,
    Trajectory,
)
from taskforge.env.db import Database
from taskforge.env.evaluator import Evaluator, NLJudge
from taskforge.env.toolkit import Toolkit
from taskforge.errors import DataError

_TOLERANCE = 1e-9


@dataclass
class FixedVerdicts:
    """An :class:`NLJudge` giving the same verdict on every assertion (the constant baseline)."""

    met: bool

    def judge(
        self, task: Task, messages: Sequence[Message], assertions: Sequence[str]
    ) -> list[NLAssertionCheck]:
        """The fixed verdict for each assertion."""
        note = f"fixed verdict: {'met' if self.met else 'not met'}"
        return [
            NLAssertionCheck(nl_assertion=a, met=self.met, justification=note) for a in assertions
        ]


def _same(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return abs(a - b) < _TOLERANCE


class AgreementEvaluator:
    """Scores simulations with a judge and with both fixed verdicts, and compares them.

    Args:
        toolkit_cls: The domain's toolkit.
        db: The DB the run used.
        judge: The NL judge; None leaves NL assertions skipped.
    """

    def __init__(self, toolkit_cls: type[Toolkit], db: Database, judge: NLJudge | None) -> None:
        self.judge = judge
        self.judged = Evaluator(toolkit_cls, db, judge)
        self.all_met = Evaluator(toolkit_cls, db, FixedVerdicts(True))
        self.none_met = Evaluator(toolkit_cls, db, FixedVerdicts(False))

    def compare(self, task: Task, sim: Trajectory) -> dict[str, Any]:
        """One row: recorded vs recomputed DB and total rewards, and the fixed-verdict totals."""
        info = self.judged.evaluate_trajectory(task, sim)
        recorded = sim.reward_info
        before_db = recorded.db_check.db_reward if recorded and recorded.db_check else None
        after_db = info.db_check.db_reward if info.db_check else None
        before = recorded.reward if recorded else None
        all_met = self.all_met.evaluate_trajectory(task, sim).reward
        none_met = self.none_met.evaluate_trajectory(task, sim).reward
        return {
            "simulation_id": sim.id,
            "task_id": sim.task_id,
            "trial": sim.trial,
            "recorded_db_reward": before_db,
            "recomputed_db_reward": after_db,
            "agree": before_db == after_db,
            "recorded_reward": before,
            "recomputed_reward": info.reward,
            "reward_agree": _same(before, info.reward),
            "nl_skipped": RewardType.NL_ASSERTION in (info.skipped or []),
            "nl_verdicts": _verdicts(info),
            "reward_all_met": all_met,
            "reward_none_met": none_met,
            "all_met_agree": _same(before, all_met),
            "none_met_agree": _same(before, none_met),
        }


def _verdicts(info: RewardInfo) -> list[dict[str, Any]] | None:
    if info.nl_assertions is None:
        return None
    return [
        {"assertion": c.nl_assertion, "met": c.met, "justification": c.justification}
        for c in info.nl_assertions
    ]


def summarise(rows: Sequence[dict[str, Any]], judge: NLJudge | None) -> dict[str, Any]:
    """Agreement counts over the rows, with the judge's model and counters when it has them."""
    verdicts = [v for r in rows for v in r["nl_verdicts"] or []]
    stats = getattr(judge, "stats", None)
    return {
        "n": len(rows),
        "agree": sum(r["agree"] for r in rows),
        "reward_agree": sum(r["reward_agree"] for r in rows),
        "fixed_all_met_agree": sum(r["all_met_agree"] for r in rows),
        "fixed_none_met_agree": sum(r["none_met_agree"] for r in rows),
        "nl_skipped": sum(r["nl_skipped"] for r in rows),
        "nl_judge": getattr(judge, "model", None) if judge is not None else None,
        "nl_assertions_judged": len(verdicts),
        "nl_assertions_met": sum(v["met"] for v in verdicts),
        "judge_stats": stats.as_dict() if stats is not None else None,
    }


def nl_agreement(
    results: Tau2Results,
    toolkit_cls: type[Toolkit],
    db: Database,
    judge: NLJudge | None,
    *,
    source: str = "results",
    progress: Callable[[Sequence[Trajectory]], Iterable[Trajectory]] | None = None,
) -> dict[str, Any]:
    """``{"simulations": rows, "summary": counts}`` for every simulation of a results file.

    Args:
        results: The loaded results file.
        toolkit_cls: The domain's toolkit.
        db: The DB the run used.
        judge: The NL judge; None leaves NL assertions skipped.
        source: Name of the file, for error messages.
        progress: Wraps the simulations while they are scored (e.g. a progress bar).

    Raises:
        DataError: a simulation names a task the file does not hold.
    """
    scorer = AgreementEvaluator(toolkit_cls, db, judge)
    tasks = {t.id: t for t in results.tasks}
    rows = []
    sims = results.simulations
    for sim in progress(sims) if progress is not None else sims:
        task = tasks.get(sim.task_id)
        if task is None:
            raise DataError(
                f"{source}: simulation {sim.id}: field task_id: unknown task {sim.task_id!r}"
            )
        rows.append(scorer.compare(task, sim))
    return {"simulations": rows, "summary": summarise(rows, judge)}


__all__ = ["AgreementEvaluator", "FixedVerdicts", "nl_agreement", "summarise"]
