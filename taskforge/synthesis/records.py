"""Verdicts as records: certified tasks, rejected candidates with their reasons, warehouse rows.

* an accepted task is stored with its certificate (:func:`certified`);
* a rejected candidate keeps its reasons as tau2 task ``issues`` (:func:`rejected`), so a file
  of rejected candidates is still a task file that every tool here reads;
* :func:`store_verdicts` writes every verdict into the warehouse ``verifications`` table (and
  the task itself into ``tasks``), keyed by the task's content and the check's version, in one
  transaction; storing the same verdicts again adds nothing.

The ``verifications`` key is ``(task_uid, verifier_version)``: an accepted task is keyed by its
certified form (the file a rollout later reads, so trajectories join on the same ``task_uid``),
a rejected one by the candidate as given. Deduplication drops are verdicts of their own check
(:data:`DEDUP_VERSION`) on the certified task.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any

from taskforge.contracts import Task, TaskIssue
from taskforge.synthesis.verify import Verdict

DEDUP_VERSION = "dedup-v1"
"""Version recorded with the verdicts of the deduplication and contamination guard."""


def certified(task: Task, verdict: Verdict) -> Task:
    """The task with its certificate (the task as given when the verdict is a rejection)."""
    return (
        task.model_copy(update={"certificate": verdict.certificate}) if verdict.accepted else task
    )


def rejected(task: Task, reasons: Sequence[str], check: str) -> Task:
    """The candidate with each rejection reason as an open issue (``<check>-<n>``)."""
    issues = [
        TaskIssue(id=f"{check}-{i}", title=reason, status="open")
        for i, reason in enumerate(reasons)
    ]
    return task.model_copy(update={"issues": [*(task.issues or []), *issues]})


def dropped(task: Task, reason: str) -> Verdict:
    """The verdict of the deduplication guard dropping ``task``."""
    return Verdict(task.id, False, [reason], None, version=DEDUP_VERSION)


def store_verdicts(wh: Any, verdicts: Sequence[tuple[Task, Verdict]], domain: str) -> int:
    """Write the tasks and their verdicts into the warehouse (new rows only).

    Args:
        wh: A read-write :class:`taskforge.warehouse.Warehouse`.
        verdicts: (task as verified, verdict) pairs.
        domain: Domain of the tasks.

    Returns:
        The number of verdicts given (rows already stored are left as they are).
    """
    from taskforge.warehouse.rows import add_task, new_columns, task_uid
    from taskforge.warehouse.schema import TABLE_BY_NAME
    from taskforge.warehouse.store import insert_staged

    now = datetime.now(timezone.utc).replace(tzinfo=None)
    tasks, rows = new_columns("tasks"), new_columns("verifications")
    for task, verdict in verdicts:
        stored = certified(task, verdict)
        uid = task_uid(stored, domain)
        add_task(tasks, stored, uid, domain)
        rows["task_uid"].append(uid)
        rows["verifier_version"].append(verdict.version)
        rows["accepted"].append(verdict.accepted)
        rows["reason"].append("; ".join(verdict.reasons) or None)
        cert = verdict.certificate
        rows["certificate"].append(cert.model_dump_json() if cert is not None else None)
        rows["created_at"].append(now)
    with wh.transaction() as con:
        insert_staged(con, "tasks", TABLE_BY_NAME["tasks"].arrow(tasks), new_only=True)
        insert_staged(con, "verifications", TABLE_BY_NAME["verifications"].arrow(rows), True)
    return len(verdicts)


__all__ = ["DEDUP_VERSION", "certified", "dropped", "rejected", "store_verdicts"]
