"""Task pools: one pool per round with lineage, RAFT's union of rounds, and a curriculum."""

from taskforge.pool.curriculum import Evidence, apply_curriculum, task_evidence
from taskforge.pool.entries import entry_for, pool_from_tasks
from taskforge.pool.store import (
    build_pool,
    latest_round,
    list_pools,
    load_pool,
    pool_tasks,
    select_pool,
    union_pool,
)

__all__ = [
    "Evidence",
    "apply_curriculum",
    "build_pool",
    "entry_for",
    "latest_round",
    "list_pools",
    "load_pool",
    "pool_from_tasks",
    "pool_tasks",
    "select_pool",
    "task_evidence",
    "union_pool",
]
