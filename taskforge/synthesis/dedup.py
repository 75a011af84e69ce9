"""Deduplication and contamination guard for synthesized tasks.

* identical gold action sets are duplicates, whatever the wording;
* scenarios closer than ``threshold`` (cosine of sentence embeddings) are near-duplicates;
* a task DB must be entity-disjoint from a reference (test) DB: no shared user ids, emails,
  order ids, payment method ids or item ids;
* scenarios must not be near-duplicates of the reference (test) tasks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from taskforge.contracts import Task
from taskforge.env.db import Database
from taskforge.rollout.prompts import scenario_text
from taskforge.warehouse.keys import canonical

NEAR_DUPLICATE_COSINE = 0.95


@dataclass
class DedupResult:
    """Kept tasks, and the dropped ones with their reason."""

    kept: list[Task] = field(default_factory=list)
    dropped: list[tuple[str, str]] = field(default_factory=list)


def gold_key(task: Task) -> bytes:
    """What makes two tasks the same job: their gold actions (names and arguments)."""
    return canonical([(a.name, a.arguments) for a in task.gold_actions()])


def _unit(vectors: Any) -> Any:
    v = np.asarray(vectors, dtype=np.float32)
    return v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)


def deduplicate(
    tasks: Sequence[Task],
    embedder: Any,
    reference: Sequence[Task] = (),
    threshold: float = NEAR_DUPLICATE_COSINE,
) -> DedupResult:
    """Drop identical gold action sets and near-duplicate scenarios (also against ``reference``)."""
    result = DedupResult()
    seen: set[bytes] = set()
    texts = [scenario_text(t) for t in tasks]
    vectors = _unit(embedder.embed(texts)) if texts else np.zeros((0, 1))
    ref = _unit(embedder.embed([scenario_text(t) for t in reference])) if reference else None
    kept_rows: list[int] = []
    for i, task in enumerate(tasks):
        reason = _duplicate_reason(task, i, vectors, ref, kept_rows, seen, threshold, reference)
        if reason:
            result.dropped.append((task.id, reason))
            continue
        seen.add(gold_key(task))
        kept_rows.append(i)
        result.kept.append(task)
    return result


def _duplicate_reason(
    task: Task,
    i: int,
    vectors: Any,
    ref: Any,
    kept_rows: list[int],
    seen: set[bytes],
    threshold: float,
    reference: Sequence[Task],
) -> str | None:
    if gold_key(task) in seen:
        return "same gold actions as a kept task"
    if kept_rows:
        sims = vectors[kept_rows] @ vectors[i]
        if float(sims.max()) >= threshold:
            return f"scenario near-duplicate (cosine {float(sims.max()):.3f}) of a kept task"
    if ref is not None and len(reference):
        sims = ref @ vectors[i]
        j = int(sims.argmax())
        if float(sims[j]) >= threshold:
            cosine = float(sims[j])
            return f"scenario near-duplicate (cosine {cosine:.3f}) of test task {reference[j].id}"
    return None


def entity_ids(db: Database) -> dict[str, set[str]]:
    """The identifiers a task DB must not share with a reference DB."""
    users, orders, products = (db.tables[t] for t in ("users", "orders", "products"))
    return {
        "user_id": set(users),
        "email": {u["email"].lower() for u in users.values()},
        "order_id": set(orders),
        "payment_method_id": {p for u in users.values() for p in u["payment_methods"]},
        "item_id": {i for p in products.values() for i in p["variants"]},
    }


def shared_entities(db: Database, reference: Database) -> dict[str, int]:
    """How many identifiers of each kind two DBs share (all zero: entity-disjoint)."""
    ours, theirs = entity_ids(db), entity_ids(reference)
    return {kind: len(ours[kind] & theirs[kind]) for kind in ours}


__all__ = ["DedupResult", "deduplicate", "entity_ids", "gold_key", "shared_entities"]
