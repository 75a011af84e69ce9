"""Curriculum: retire solved tasks, keep a pass-rate band, cap each pattern (seeded sample).

Evidence is what the warehouse recorded: per task (by content key) and per run, how many
trials were played and how many succeeded. Runs are ordered by their ``created_at``, then by
ingest time and id, so "the last N evaluations" means the N most recent runs that played the
task.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from taskforge.contracts import Curriculum, PoolEntry
from taskforge.warehouse.store import Warehouse


@dataclass
class Evidence:
    """One task's recorded trials: per run (in run order), and in total."""

    evaluations: list[tuple[int, int]] = field(default_factory=list)
    """(trials, successes) per run that played the task, oldest first."""

    @property
    def n_trials(self) -> int:
        """Trials over every counted run."""
        return sum(n for n, _ in self.evaluations)

    @property
    def pass_rate(self) -> float | None:
        """Share of trials solved (None without trials)."""
        n = self.n_trials
        return round(sum(c for _, c in self.evaluations) / n, 6) if n else None

    def solved_last(self, k: int) -> bool:
        """The last ``k`` evaluations each solved every trial."""
        last = self.evaluations[-k:]
        return len(last) == k and all(n > 0 and c == n for n, c in last)


_EVIDENCE_SQL = """
    SELECT t.task_uid, count(*) AS n, count(*) FILTER (WHERE is_success(t.reward)) AS c,
           any_value(r.created_at) AS created, any_value(r.ingested_at) AS ingested, t.run_id
    FROM trajectories t LEFT JOIN runs r USING (run_id)
    WHERE t.task_uid IN (SELECT unnest(?::VARCHAR[])) {runs}
    GROUP BY t.task_uid, t.run_id
    ORDER BY t.task_uid, created NULLS FIRST, ingested NULLS FIRST, t.run_id"""


def task_evidence(
    wh: Warehouse, task_uids: Sequence[str], runs: Sequence[str] | None = None
) -> dict[str, Evidence]:
    """Recorded trials of these tasks (only in ``runs`` when given); tasks never played are
    absent."""
    params: list[object] = [list(task_uids)]
    where = ""
    if runs is not None:
        where = "AND t.run_id IN (SELECT unnest(?::VARCHAR[]))"
        params.append(list(runs))
    out: dict[str, Evidence] = defaultdict(Evidence)
    for uid, n, c, *_ in wh.con.execute(_EVIDENCE_SQL.format(runs=where), params).fetchall():
        out[uid].evaluations.append((int(n), int(c)))
    return dict(out)


def apply_curriculum(
    entries: Sequence[PoolEntry], evidence: Mapping[str, Evidence], curriculum: Curriculum | None
) -> list[PoolEntry]:
    """Entries with their evidence filled in and their status decided (same order).

    Without a curriculum every entry is active. Otherwise: retirement, then the band, then
    quotas over what is still active.
    """
    judged = []
    for entry in entries:
        ev = evidence.get(entry.task_uid, Evidence())
        status, reason = _judge(ev, curriculum) if curriculum else ("active", None)
        judged.append(
            entry.model_copy(
                update={
                    "pass_rate": ev.pass_rate,
                    "n_trials": ev.n_trials,
                    "status": status,
                    "reason": reason,
                }
            )
        )
    if curriculum is not None and curriculum.quotas:
        judged = _apply_quotas(judged, curriculum)
    return judged


def _judge(ev: Evidence, cur: Curriculum) -> tuple[str, str | None]:
    """Status and reason of one task from its evidence (before quotas)."""
    if cur.retire_after and ev.solved_last(cur.retire_after):
        return "retired", f"retired: solved every trial of its last {cur.retire_after} evaluations"
    rate, n = ev.pass_rate, ev.n_trials
    if cur.pass_band is None or rate is None or n < cur.min_trials:
        return "active", None
    lo, hi = cur.pass_band
    if rate > hi:
        return "dropped", f"too_easy: pass rate {rate:.3f} over {n} trials is above {hi}"
    if rate < lo:
        return "dropped", f"too_hard: pass rate {rate:.3f} over {n} trials is below {lo}"
    return "active", None


def quota_for(pattern: str, quotas: Mapping[str, int]) -> int | None:
    """The quota of a pattern: its own, else the '*' default, else none."""
    return quotas.get(pattern, quotas.get("*"))


def _apply_quotas(entries: list[PoolEntry], cur: Curriculum) -> list[PoolEntry]:
    """Keep at most the quota of active entries per pattern: a seeded sample by content key,
    so the choice does not depend on the order tasks were added."""
    groups: dict[str, list[PoolEntry]] = defaultdict(list)
    for e in entries:
        if e.status == "active":
            groups[e.pattern or "none"].append(e)
    dropped: dict[str, str] = {}
    for pattern, group in groups.items():
        limit = quota_for(pattern, cur.quotas)
        if limit is None or len(group) <= limit:
            continue
        ranked = sorted(group, key=lambda e: _rank(cur.seed, pattern, e.task_uid))
        for e in ranked[limit:]:
            dropped[e.task_uid] = f"quota: pattern {pattern} keeps {limit} of {len(group)}"
    return [
        e.model_copy(update={"status": "dropped", "reason": dropped[e.task_uid]})
        if e.task_uid in dropped
        else e
        for e in entries
    ]


def _rank(seed: int, pattern: str, uid: str) -> str:
    return hashlib.sha256(f"{seed}\x00{pattern}\x00{uid}".encode()).hexdigest()
