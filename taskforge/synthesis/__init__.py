"""Task synthesis: seed tasks, blueprints, exploration, writing, verification, dedup.

The naive seed sampler (:func:`sample_seed_tasks`) draws feasible, independent tasks from the
records of a Retail DB, one write tool (or an information request) per task, with no injected
difficulty; the targeted stage builds on it.
"""

from taskforge.synthesis.seed import GENERATOR, INFO_KIND, SEED_KINDS, sample_seed_tasks, task_kind

__all__ = ["GENERATOR", "INFO_KIND", "SEED_KINDS", "sample_seed_tasks", "task_kind"]
