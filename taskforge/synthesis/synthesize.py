"""Targeted synthesis, offline path: blueprint samplers -> template writer -> verifier -> dedup.

The gold solution is built and executed first (the sampler grounds it in the DB, the verifier
replays it); the words come last. Only certified tasks are kept; every rejection keeps its
reason, and the acceptance rate is reported per family.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from taskforge.contracts import Task
from taskforge.env.db import Database
from taskforge.env.evaluator import Evaluator
from taskforge.env.toolkit import Toolkit
from taskforge.synthesis.dedup import deduplicate, shared_entities
from taskforge.synthesis.verify import verify_task


@dataclass
class SynthesisReport:
    """What a synthesis run produced."""

    accepted: list[Task] = field(default_factory=list)
    rejected: list[dict[str, Any]] = field(default_factory=list)
    per_family: dict[str, dict[str, int]] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        """A JSON-ready summary with acceptance rates."""
        families = {
            name: {
                **counts,
                "acceptance_rate": round(counts["accepted"] / counts["sampled"], 3)
                if counts["sampled"]
                else None,
            }
            for name, counts in self.per_family.items()
        }
        return {
            "n_accepted": len(self.accepted),
            "n_rejected": len(self.rejected),
            "families": families,
            "rejected": self.rejected,
        }


def synthesize(
    db: Database,
    toolkit_cls: type[Toolkit],
    families: Sequence[str],
    n: int,
    seed: int,
    embedder: Any,
    reference_tasks: Sequence[Task] = (),
    reference_db: Database | None = None,
) -> SynthesisReport:
    """Sample, write, verify and deduplicate ``n`` tasks per family."""
    from taskforge.synthesis.blueprints import sample_blueprints
    from taskforge.synthesis.writer import TemplateWriter

    if reference_db is not None:
        _check_disjoint(db, reference_db)
    report, writer, evaluator = SynthesisReport(), TemplateWriter(seed), Evaluator(toolkit_cls, db)
    certified: list[Task] = []
    family_of: dict[str, str] = {}
    for family in families:
        counts = report.per_family.setdefault(family, {"sampled": 0, "accepted": 0})
        for i, blueprint in enumerate(sample_blueprints(db, family, n, seed)):
            task = writer.write(blueprint, f"{family}_{seed}_{i:03d}")
            family_of[task.id] = family
            verdict = verify_task(task, toolkit_cls, db, evaluator)
            counts["sampled"] += 1
            if verdict.accepted:
                certified.append(task.model_copy(update={"certificate": verdict.certificate}))
            else:
                report.rejected.append({"task_id": task.id, "reasons": verdict.reasons})
    kept = deduplicate(certified, embedder, reference=reference_tasks)
    report.rejected += [{"task_id": tid, "reasons": [why]} for tid, why in kept.dropped]
    report.accepted = kept.kept
    for task in kept.kept:
        report.per_family[family_of[task.id]]["accepted"] += 1
    return report


def _check_disjoint(db: Database, reference: Database) -> None:
    from taskforge.errors import DataError

    shared = {k: v for k, v in shared_entities(db, reference).items() if v}
    if shared:
        raise DataError(f"task DB shares entities with the reference DB: {shared}")
