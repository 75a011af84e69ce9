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
    "nl_judge": {
        "llm": "taskforge.rewards.nl_judge:nl_judge_from_config",
    },
    # where rollout episodes run: this process, or Ray tasks (ray imported only when built)
    "executor": {
        "local": "taskforge.executors.local:LocalExecutor",
        "ray": "taskforge.executors.ray_executor:RayExecutor",
    },
    # trainers live outside the core; named here, imported only when a loop trains
    "trainer": {
        "trl-cpu": "trainer_adapters.trl_cpu.trainer:TRLCPUTrainer",
        "verl": "trainer_adapters.verl.trainer:VerlTrainer",
    },
    # a trainer's export (the folder it trains from), by export kind: called as
    # ``fn(pool, tasks, db, out, command=..., **options)``, see taskforge.loop.trainer
    "trainer_exporter": {
        "verl": "trainer_adapters.verl.export:export_pool",
    },
}

PLUGGABLE: frozenset[str] = frozenset({"trainer", "trainer_exporter"})
"""Kinds that also accept a ``package.module:Class`` path, for third-party implementations."""


def names(kind: str) -> list[str]:
    """Registered implementation names of a stage kind."""
    return sorted(REGISTRY.get(kind, {}))


def resolve(kind: str, name: str) -> Any:
    """The class (or factory) registered as ``name`` for ``kind``."""
    if kind not in REGISTRY:
        raise DataError(f"unknown stage kind {kind!r}; known: {', '.join(sorted(REGISTRY))}")
    path = REGISTRY[kind].get(name)
    if path is None and kind in PLUGGABLE and ":" in name:
        path = name
    if path is None:
        known = ", ".join(names(kind))
        more = " (or a package.module:Class path)" if kind in PLUGGABLE else ""
        raise DataError(f"unknown {kind} {name!r}; known: {known}{more}")
    module, attr = path.split(":", 1)
    try:
        return getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as exc:
        raise DataError(f"{kind} {name!r}: cannot import {path} ({exc})") from exc


def build(kind: str, name: str, **kwargs: Any) -> Any:
    """An instance of the implementation ``name`` of ``kind``."""
    return resolve(kind, name)(**kwargs)
