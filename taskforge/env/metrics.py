"""pass^k, tau2's estimator: comb(successes, k) / comb(trials, k), averaged over tasks."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable

SUCCESS_TOLERANCE = 1e-6


def is_success(reward: float) -> bool:
    """A trial succeeds when its reward is 1 (within tau2's tolerance)."""
    return abs(reward - 1.0) <= SUCCESS_TOLERANCE


def pass_hat_k_task(trials: int, successes: int, k: int) -> float:
    """pass^k of one task with ``successes`` out of ``trials``."""
    if trials < k:
        raise ValueError(f"pass^{k} needs at least {k} trials, got {trials}")
    return math.comb(successes, k) / math.comb(trials, k)


def pass_hat_k(results: Iterable[tuple[str, float]], max_k: int | None = None) -> dict[int, float]:
    """pass^k for k = 1..max_k from (task_id, reward) pairs, averaged over tasks.

    ``max_k`` defaults to the smallest number of trials any task has.
    """
    per_task: dict[str, list[bool]] = defaultdict(list)
    for task_id, reward in results:
        per_task[task_id].append(is_success(reward))
    if not per_task:
        return {}
    limit = min(len(v) for v in per_task.values())
    max_k = limit if max_k is None else min(max_k, limit)
    return {
        k: sum(pass_hat_k_task(len(v), sum(v), k) for v in per_task.values()) / len(per_task)
        for k in range(1, max_k + 1)
    }
