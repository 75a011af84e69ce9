"""Tasks with NL assertions in their reward basis, for the NL-judge tests."""

from __future__ import annotations

from taskforge.contracts import RewardType, Task


def with_nl_assertions(task: Task, assertions: list[str]) -> Task:
    """``task`` graded on DB and the given NL assertions."""
    assert task.evaluation_criteria is not None
    criteria = task.evaluation_criteria.model_copy(
        update={
            "nl_assertions": assertions,
            "reward_basis": [RewardType.DB, RewardType.NL_ASSERTION],
        }
    )
    return task.model_copy(update={"evaluation_criteria": criteria})
