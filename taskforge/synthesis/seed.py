"""Naive seed tasks: one grounded, feasible request per task, drawn by the DB's domain.

The sampling itself is domain knowledge (``SynthesisKit.sample_seed_tasks`` of the domain
whose DB this is); this module is the stage's front door and the generic task kind.
"""

from __future__ import annotations

from taskforge.contracts import Task
from taskforge.domains import Domain, domain_of
from taskforge.env.db import Database

INFO_KIND = "information_request"
"""The kind of a task whose gold actions end without a write."""


def sample_seed_tasks(db: Database, n: int, seed: int, prefix: str = "seed") -> list[Task]:
    """Sample ``n`` feasible, independent naive tasks from ``db`` (its domain's sampler).

    Raises:
        ValueError: ``n`` is negative.
        DataError: The DB has too few suitable records, or its domain has no sampler.
    """
    return domain_of(db).synthesis_kit().sample_seed_tasks(db, n, seed, prefix=prefix)


def task_kind(task: Task, domain: Domain) -> str:
    """The kind of a task: the write tool its gold actions end with, or :data:`INFO_KIND`."""
    actions = task.gold_actions()
    spec = domain.toolkit_cls.specs.get(actions[-1].name) if actions else None
    return spec.name if spec is not None and spec.mutates else INFO_KIND


__all__ = ["INFO_KIND", "sample_seed_tasks", "task_kind"]
