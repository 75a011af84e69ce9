"""One small registry naming stage implementations for the CLI and configs (lazy imports).

``build("embedder", "minilm")`` imports ``taskforge.mining.embed`` only when asked, so naming
an implementation costs nothing until it is used.
"""

from __future__ import annotations

import importlib
from typing import Any

from taskforge.errors import DataError

REGISTRY: dict[str, dict[str, str]] = {
    "judge": {
        "diagnostic": "taskforge.mining.judge:DiagnosticJudge",
        "llm": "taskforge.mining.judge:LLMJudge",
    },
    "embedder": {
        "minilm": "taskforge.mining.embed:SentenceTransformerEmbedder",
        "hashing": "taskforge.mining.embed:HashingEmbedder",
    },
    "clusterer": {
        "hdbscan": "taskforge.mining.cluster:HDBSCANClusterer",
        "kmeans": "taskforge.mining.cluster:KMeansClusterer",
    },
    "labeler": {
        "keywords": "taskforge.mining.label:KeywordLabeler",
        "llm": "taskforge.mining.label:LLMLabeler",
    },
    "writer": {
        "template": "taskforge.synthesis.writer:TemplateWriter",
        "llm": "taskforge.synthesis.llm_writer:LLMWriter",
    },
    "explorer": {
        "llm": "taskforge.synthesis.explorer:LLMExplorer",
    },
    "agreement": {
        "llm": "taskforge.synthesis.agreement:AgreementCheck",
    },
}


def names(kind: str) -> list[str]:
    """Registered implementation names of a stage kind."""
    return sorted(REGISTRY.get(kind, {}))


def resolve(kind: str, name: str) -> Any:
    """The class (or factory) registered as ``name`` for ``kind``."""
    if kind not in REGISTRY:
        raise DataError(f"unknown stage kind {kind!r}; known: {', '.join(sorted(REGISTRY))}")
    if name not in REGISTRY[kind]:
        known = ", ".join(names(kind))
        raise DataError(f"unknown {kind} {name!r}; known: {known}")
    module, attr = REGISTRY[kind][name].split(":")
    return getattr(importlib.import_module(module), attr)


def build(kind: str, name: str, **kwargs: Any) -> Any:
    """An instance of the implementation ``name`` of ``kind``."""
    return resolve(kind, name)(**kwargs)
