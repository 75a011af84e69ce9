"""Gold replay audit: which tasks' gold actions raise errors, and which change nothing."""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, Field

from taskforge.contracts import Task
from taskforge.env.db import Database
from taskforge.env.replay import initial_environment
from taskforge.env.toolkit import Toolkit


class GoldError(BaseModel):
    """One gold action that returned an error."""

    action_index: int = Field(description="Position of the action in the task's gold actions.")
    name: str = Field(description="Tool name.")
    is_write: bool = Field(description="Whether the tool writes (then the gold end state is off).")
    error: str = Field(description="The error the tool returned.")


class TaskAudit(BaseModel):
    """Audit of one task."""

    task_id: str = Field(description="Task id.")
    n_gold_actions: int = Field(description="Number of gold actions.")
    gold_errors: list[GoldError] = Field(description="Gold actions that failed.")
    db_changed: bool = Field(description="Whether the gold actions changed the DB.")


def audit_task(toolkit_cls: type[Toolkit], db: Database, task: Task) -> TaskAudit:
    """Replay every gold action (reads included) on a fresh DB and record what failed."""
    env = initial_environment(toolkit_cls, db, task)
    start = env.db_hash
    errors = []
    for index, action in enumerate(task.gold_actions()):
        output, failed = env.execute(action.name, dict(action.arguments))
        if failed:
            errors.append(
                GoldError(
                    action_index=index,
                    name=action.name,
                    is_write=env.is_write(action.name),
                    error=output,
                )
            )
    return TaskAudit(
        task_id=task.id,
        n_gold_actions=len(task.gold_actions()),
        gold_errors=errors,
        db_changed=env.db_hash != start,
    )


def audit_summary(audits: Sequence[TaskAudit]) -> dict[str, int]:
    """Counts over an audit: tasks, failing actions, write failures, no-op tasks."""
    failing = [a for a in audits if a.gold_errors]
    errors = [e for a in audits for e in a.gold_errors]
    return {
        "n_tasks": len(audits),
        "n_tasks_with_gold_errors": len(failing),
        "n_gold_errors": len(errors),
        "n_read_errors": sum(not e.is_write for e in errors),
        "n_write_errors": sum(e.is_write for e in errors),
        "n_tasks_with_write_errors": sum(any(e.is_write for e in a.gold_errors) for a in audits),
        "n_tasks_db_unchanged": sum(not a.db_changed for a in audits),
    }
