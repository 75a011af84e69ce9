"""Task synthesis: seed tasks, blueprints, exploration, writing, verification, dedup.

The naive seed sampler (:func:`sample_seed_tasks`) draws feasible, independent tasks from the
records of a Retail DB, one write tool (or an information request) per task, with no injected
difficulty. Targeted synthesis (:func:`synthesize`) samples grounded blueprints per failure
family, writes them with templates, certifies them (:func:`verify_task`) and deduplicates them.
"""

from taskforge.synthesis.seed import GENERATOR, INFO_KIND, SEED_KINDS, sample_seed_tasks, task_kind
from taskforge.synthesis.synthesize import SynthesisReport, synthesize
from taskforge.synthesis.verify import VERIFIER_VERSION, Verdict, verify_task

__all__ = [
    "GENERATOR",
    "INFO_KIND",
    "SEED_KINDS",
    "VERIFIER_VERSION",
    "SynthesisReport",
    "Verdict",
    "sample_seed_tasks",
    "synthesize",
    "task_kind",
    "verify_task",
]
