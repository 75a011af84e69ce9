"""Targeted synthesis: blueprints -> writer -> verifier -> dedup, every verdict kept.

The gold solution is built and executed first (a blueprint sampler, or the LLM explorer,
grounds it in the DB; the verifier replays it); the words come last (the template writer, or
the LLM writer). Only certified tasks are kept; every rejection keeps its reason (writer
failures, verifier reasons, duplicates), and the acceptance rate is reported per family.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from taskforge.contracts import Task
from taskforge.env.db import Database
from taskforge.env.evaluator import Evaluator
from taskforge.env.toolkit import Toolkit
from taskforge.synthesis.blueprints import Blueprint
from taskforge.synthesis.dedup import deduplicate, shared_entities
from taskforge.synthesis.verify import AgreementChecker, Verdict, verify_task

if TYPE_CHECKING:
    from taskforge.executors import Executor


class Writer(Protocol):
    """Turns a blueprint into a task (the template writer, the LLM writer)."""

    name: str

    def write(self, bp: Blueprint, task_id: str) -> Task:
        """The task; raises :class:`taskforge.errors.TaskforgeError` when it cannot."""
        ...


class BlueprintSource(Protocol):
    """Grounded blueprints of a family (the LLM explorer; offline the samplers)."""

    def blueprints(self, db: Database, family: str, n: int, seed: int) -> list[Blueprint]:
        """Up to ``n`` blueprints of ``family`` on ``db``."""
        ...


@dataclass
class SynthesisReport:
    """What a synthesis run produced."""

    accepted: list[Task] = field(default_factory=list)
    verdicts: list[tuple[Task, Verdict]] = field(default_factory=list)
    """Every candidate as written with its verdict (verifier and dedup), in order."""
    failed_writes: list[dict[str, Any]] = field(default_factory=list)
    """Blueprints the writer could not word: task id and reason."""
    per_family: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def rejected(self) -> list[dict[str, Any]]:
        """Every rejection: task id, the check that rejected it and its reasons."""
        out = [dict(r, check="writer") for r in self.failed_writes]
        out += [
            {"task_id": v.task_id, "check": v.version, "reasons": v.reasons}
            for _, v in self.verdicts
            if not v.accepted
        ]
        return out

    def rejected_tasks(self) -> list[Task]:
        """The rejected candidates, reasons as issues (see :func:`records.rejected`)."""
        from taskforge.synthesis.records import rejected

        return [rejected(t, v.reasons, v.version) for t, v in self.verdicts if not v.accepted]

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
        sampled = sum(c["sampled"] for c in self.per_family.values())
        return {
            "n_accepted": len(self.accepted),
            "n_rejected": len(self.rejected),
            "acceptance_rate": round(len(self.accepted) / sampled, 3) if sampled else None,
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
    *,
    writer: Writer | None = None,
    explorer: BlueprintSource | None = None,
    agreement: AgreementChecker | None = None,
    executor: Executor | None = None,
    domain: str | None = None,
    config_path: Path | None = None,
) -> SynthesisReport:
    """Sample (or explore), write, verify and deduplicate ``n`` candidates per family.

    Args:
        db: The task DB.
        toolkit_cls: The domain's toolkit.
        families: Blueprint families.
        n: Candidates per family.
        seed: Seed of sampling and wording.
        embedder: Embeds scenarios for near-duplicate detection.
        reference_tasks: Test tasks the new ones must not near-duplicate.
        reference_db: Test DB the task DB must be entity-disjoint from.
        writer: Words the blueprints (default: the template writer).
        explorer: Finds the blueprints (default: the samplers).
        agreement: LLM check of LLM-written scenarios (see :func:`verify_task`).
        executor: Where the candidates are verified; one that leaves the process (Ray)
            verifies them in chunks (see :mod:`taskforge.synthesis.verify_batch`), which needs
            ``domain`` and the LLM config its workers build the agreement check from.
        domain: The domain's name (for workers).
        config_path: The LLM config of ``agreement`` (for workers; None: stored checks).
    """
    from taskforge.synthesis.records import dropped
    from taskforge.synthesis.writer import TemplateWriter

    if reference_db is not None:
        _check_disjoint(db, reference_db)
    report = SynthesisReport()
    words: Writer = writer or TemplateWriter(seed)
    written, family_of = [], {}
    for family in families:
        counts = report.per_family.setdefault(family, {"sampled": 0, "accepted": 0})
        for i, blueprint in enumerate(_blueprints(db, family, n, seed, explorer)):
            counts["sampled"] += 1
            task = _write(words, blueprint, f"{family}_{seed}_{i:03d}", report)
            if task is not None:
                written.append(task)
                family_of[task.id] = family
    verdicts = _verify(written, toolkit_cls, db, agreement, executor, domain, config_path, seed)
    report.verdicts += list(zip(written, verdicts, strict=True))
    certified = [
        t.model_copy(update={"certificate": v.certificate})
        for t, v in report.verdicts
        if v.accepted
    ]
    kept = deduplicate(certified, embedder, reference=reference_tasks)
    by_id = {t.id: t for t in certified}
    report.verdicts += [(by_id[tid], dropped(by_id[tid], why)) for tid, why in kept.dropped]
    report.accepted = kept.kept
    for task in kept.kept:
        report.per_family[family_of[task.id]]["accepted"] += 1
    return report


def _verify(
    tasks: list[Task],
    toolkit_cls: type[Toolkit],
    db: Database,
    agreement: AgreementChecker | None,
    executor: Executor | None,
    domain: str | None,
    config_path: Path | None,
    seed: int,
) -> list[Verdict]:
    """The verdict of every written candidate, in order: here, or on the executor."""
    if executor is None or executor.in_process:
        evaluator = Evaluator(toolkit_cls, db)
        return [verify_task(t, toolkit_cls, db, evaluator, agreement) for t in tasks]
    from taskforge.errors import DataError
    from taskforge.synthesis.verify_batch import verify_on

    if domain is None:
        raise DataError(f"executor {executor.name}: synthesis needs the domain's name")
    return verify_on(executor, tasks, domain, db, config_path, seed, agreement)


def _blueprints(
    db: Database, family: str, n: int, seed: int, explorer: BlueprintSource | None
) -> list[Blueprint]:
    from taskforge.synthesis.blueprints import sample_blueprints

    if explorer is not None:
        return explorer.blueprints(db, family, n, seed)
    return sample_blueprints(db, family, n, seed)


def _write(writer: Writer, bp: Blueprint, task_id: str, report: SynthesisReport) -> Task | None:
    from taskforge.errors import TaskforgeError

    try:
        return writer.write(bp, task_id)
    except TaskforgeError as exc:
        report.failed_writes.append({"task_id": task_id, "reasons": [str(exc)]})
        return None


def _check_disjoint(db: Database, reference: Database) -> None:
    from taskforge.errors import DataError

    shared = {k: v for k, v in shared_entities(db, reference).items() if v}
    if shared:
        raise DataError(f"task DB shares entities with the reference DB: {shared}")


__all__ = ["BlueprintSource", "SynthesisReport", "Writer", "synthesize"]
