"""Task pools: the tasks of one round (or the union of rounds), with lineage and curriculum."""

from __future__ import annotations

from collections import Counter
from typing import Any, Literal

from pydantic import Field, model_validator

from taskforge.contracts.base import SCHEMA_VERSION, Contract, versioned
from taskforge.contracts.task import TaskOrigin

PoolStatus = Literal["active", "retired", "dropped"]
"""active: offered for training; retired: solved, out for good; dropped: out this round."""

PoolMode = Literal["on-policy", "raft-union"]
"""on-policy (SENTINEL): one round's tasks; raft-union (RAFT): every round's tasks so far."""


class Curriculum(Contract):
    """Which of a pool's candidate tasks are offered, from the policy's recorded pass rates.

    Applied in order: retirement, then the pass-rate band, then per-pattern quotas. Tasks with
    no trajectories yet are never retired or dropped by the band (there is no evidence).
    """

    pass_band: tuple[float, float] | None = Field(
        default=None,
        description="Keep tasks whose pass rate p satisfies lo <= p <= hi (e.g. [0.05, 0.95] "
        "drops tasks always or never solved); None keeps every pass rate.",
    )
    min_trials: int = Field(
        default=2, ge=1, description="Trials a task needs before the band judges it."
    )
    quotas: dict[str, int] = Field(
        default_factory=dict,
        description="Most active tasks per pattern ('none' = no pattern, '*' = any pattern not "
        "listed); the kept ones are a seeded sample.",
    )
    retire_after: int = Field(
        default=0,
        ge=0,
        description="Retire a task once its last N evaluations (runs that played it, in run "
        "order) each solved every trial; 0 turns retirement off.",
    )
    seed: int = Field(default=0, description="Seed of the quota sampling.")
    runs: list[str] | None = Field(
        default=None, description="Runs whose trajectories count as evidence; None = all runs."
    )

    @model_validator(mode="after")
    def _band_in_range(self) -> Curriculum:
        if self.pass_band is not None:
            lo, hi = self.pass_band
            if not 0.0 <= lo <= hi <= 1.0:
                raise ValueError(f"pass_band must satisfy 0 <= lo <= hi <= 1, got {lo}, {hi}")
        return self


class PoolEntry(Contract):
    """One task of a pool: its key, its lineage, its evidence and whether it is offered."""

    task_uid: str = Field(description="Content key of the task in the warehouse.")
    task_id: str = Field(description="The task's id.")
    domain: str = Field(default="retail", description="Domain of the task.")
    round: int = Field(description="Pool round that first offered the task.")
    pattern: str | None = Field(default=None, description="Failure pattern the task targets.")
    origin: TaskOrigin | None = Field(default=None, description="How the task was made.")
    generator: str | None = Field(default=None, description="Sampler/writer that made it.")
    source_failures: list[str] = Field(
        default_factory=list, description="Trajectory ids of the failures behind the task."
    )
    parent_task_ids: list[str] = Field(
        default_factory=list, description="Tasks the task was derived from."
    )
    has_certificate: bool = Field(description="The task carries a feasibility certificate.")
    pass_rate: float | None = Field(
        default=None, description="Share of its recorded trials the policy solved (None: none)."
    )
    n_trials: int = Field(default=0, description="Recorded trials behind pass_rate.")
    status: PoolStatus = Field(default="active", description="active, retired or dropped.")
    reason: str | None = Field(
        default=None, description="Why the task is retired or dropped ('too_easy: ...', ...)."
    )


class TaskPool(Contract):
    """A task pool: one round (on-policy) or the union of rounds so far (raft-union)."""

    model_config = versioned("TaskPool")

    name: str = Field(description="Pool name.")
    round: int = Field(description="Round of the pool (for a union: the last round included).")
    mode: PoolMode = Field(default="on-policy", description="on-policy or raft-union.")
    domain: str = Field(default="retail", description="Domain of the tasks.")
    curriculum: Curriculum | None = Field(
        default=None, description="Curriculum applied to the candidates (None: all offered)."
    )
    entries: list[PoolEntry] = Field(
        default_factory=list, description="Every candidate task, offered or not."
    )
    config: dict[str, Any] = Field(
        default_factory=dict, description="Config that made the pool (task files, rounds, ...)."
    )
    commands: list[str] = Field(
        default_factory=list, description="Commands that made or changed the pool, in order."
    )
    created_at: str | None = Field(default=None, description="ISO time the pool was made.")
    schema_version: str = Field(
        default=SCHEMA_VERSION, description="Version of the taskforge contracts."
    )

    def active(self) -> list[PoolEntry]:
        """The entries offered for training."""
        return [e for e in self.entries if e.status == "active"]

    def summary(self) -> dict[str, Any]:
        """Counts per status, pattern, origin and round, and certificate coverage."""
        active = self.active()
        certified = sum(e.has_certificate for e in active)
        return {
            "name": self.name,
            "round": self.round,
            "mode": self.mode,
            "n_entries": len(self.entries),
            "n_active": len(active),
            "by_status": dict(sorted(Counter(e.status for e in self.entries).items())),
            "by_pattern": _count(e.pattern or "none" for e in active),
            "by_origin": _count(e.origin or "unknown" for e in active),
            "by_round": _count(str(e.round) for e in active),
            "certified": certified,
            "certificate_coverage": round(certified / len(active), 4) if active else None,
        }


def _count(values: Any) -> dict[str, int]:
    return dict(sorted(Counter(values).items()))
