"""Pool entries from tasks: the task's key and lineage, with no evidence yet."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from taskforge.contracts import Curriculum, PoolEntry, PoolMode, Task, TaskPool
from taskforge.warehouse.rows import task_uid


def entry_for(task: Task, uid: str, domain: str, round_: int) -> PoolEntry:
    """The pool entry of a task (active, no pass rate yet)."""
    lineage = task.lineage
    return PoolEntry(
        task_uid=uid,
        task_id=task.id,
        domain=domain,
        round=round_,
        pattern=task.pattern,
        origin=task.origin,
        generator=lineage.generator if lineage else None,
        source_failures=list(lineage.source_failures) if lineage else [],
        parent_task_ids=list(lineage.parent_task_ids) if lineage else [],
        has_certificate=task.certificate is not None,
    )


def sort_entries(entries: Iterable[PoolEntry]) -> list[PoolEntry]:
    """Entries in the pool's fixed order: round, pattern, task id, key."""
    return sorted(entries, key=lambda e: (e.round, e.pattern or "", e.task_id, e.task_uid))


def keyed(tasks: Iterable[Task], domain: str) -> dict[str, Task]:
    """Tasks by content key (the warehouse's task_uid); duplicates collapse."""
    return {task_uid(t, domain): t for t in tasks}


def pool_from_tasks(
    name: str,
    round_: int,
    tasks: Sequence[Task],
    domain: str = "retail",
    mode: PoolMode = "on-policy",
    curriculum: Curriculum | None = None,
) -> TaskPool:
    """A pool of these tasks, every one offered: no warehouse, no evidence.

    With a curriculum, only its quotas can act (there are no pass rates without a warehouse).
    """
    from taskforge.pool.curriculum import apply_curriculum

    entries = [entry_for(t, uid, domain, round_) for uid, t in keyed(tasks, domain).items()]
    if curriculum is not None:
        entries = apply_curriculum(entries, {}, curriculum)
    return TaskPool(
        name=name,
        round=round_,
        mode=mode,
        domain=domain,
        curriculum=curriculum,
        entries=sort_entries(entries),
    )
