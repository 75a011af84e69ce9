"""Task synthesis: seed tasks, blueprints, exploration, writing, verification, dedup.

The naive seed sampler (:func:`sample_seed_tasks`) draws feasible, independent tasks from the
records of a domain's DB (the domain's sampler), one write tool (or an information request) per
task, with no injected difficulty. Targeted synthesis (:func:`synthesize`) grounds blueprints per
failure family (the samplers, or the :class:`LLMExplorer`), words them (:class:`TemplateWriter` or
:class:`LLMWriter`), certifies them (:func:`verify_task`, with the :class:`AgreementCheck` for LLM
text) and deduplicates them; :func:`targeting_check` measures whether they provoke their pattern.
Exports other than the seed sampler, :func:`synthesize` and the verifier load on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from taskforge.synthesis.seed import INFO_KIND, sample_seed_tasks, task_kind
from taskforge.synthesis.synthesize import SynthesisReport, synthesize
from taskforge.synthesis.verify import VERIFIER_VERSION, Verdict, verify_task, verify_tasks

if TYPE_CHECKING:
    from taskforge.synthesis.agreement import AgreementCheck
    from taskforge.synthesis.blueprints import Blueprint, family_patterns
    from taskforge.synthesis.explorer import LLMExplorer
    from taskforge.synthesis.llm_writer import LLMWriter
    from taskforge.synthesis.records import store_verdicts
    from taskforge.synthesis.targeting import targeting_check
    from taskforge.synthesis.writer import TemplateWriter

_LAZY = {
    "AgreementCheck": "taskforge.synthesis.agreement",
    "Blueprint": "taskforge.synthesis.blueprints",
    "family_patterns": "taskforge.synthesis.blueprints",
    "LLMExplorer": "taskforge.synthesis.explorer",
    "LLMWriter": "taskforge.synthesis.llm_writer",
    "TemplateWriter": "taskforge.synthesis.writer",
    "store_verdicts": "taskforge.synthesis.records",
    "targeting_check": "taskforge.synthesis.targeting",
}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'taskforge.synthesis' has no attribute {name!r}")
    return getattr(importlib.import_module(_LAZY[name]), name)


__all__ = [
    "INFO_KIND",
    "VERIFIER_VERSION",
    "AgreementCheck",
    "Blueprint",
    "LLMExplorer",
    "LLMWriter",
    "SynthesisReport",
    "TemplateWriter",
    "Verdict",
    "family_patterns",
    "sample_seed_tasks",
    "store_verdicts",
    "synthesize",
    "targeting_check",
    "task_kind",
    "verify_task",
    "verify_tasks",
]
