"""A failure taxonomy: patterns from clusters, assignments, identity across versions, storage.

One taxonomy version per mining run. Agent failures are clustered into patterns; failures the
judge blames on the user simulator, the task or the environment are set apart in quarantined
patterns (one per blame) that never become training tasks. A pattern keeps its ``lineage_id``
from version to version when its centroid is close to a pattern of the previous version.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson

from taskforge.contracts.judgment import Judgment
from taskforge.warehouse.keys import content_key
from taskforge.warehouse.schema import TABLE_BY_NAME
from taskforge.warehouse.store import Warehouse, insert_staged

LINEAGE_MIN_COSINE = 0.85
"""Centroids at least this similar are the same pattern across versions."""
N_EXEMPLARS = 5
SIGNATURE_KEYS = ("category", "tool", "is_write", "argument", "mechanism")
SPAN_MIN_SHARE = 0.2
"""A pattern spans the domains when each of them holds at least this share of its members."""
UNKNOWN_DOMAIN = "unknown"
"""The domain of a failure whose run is not stored."""


@dataclass
class Pattern:
    """One pattern of a taxonomy version."""

    pattern_id: str
    lineage_id: str
    name: str
    description: str
    members: list[int]
    exemplars: list[str]
    signature: dict[str, Any]
    quarantined: bool = False


@dataclass
class Taxonomy:
    """A taxonomy version ready to store."""

    taxonomy_id: str
    version: int
    round: int | None
    config: dict[str, Any]
    patterns: list[Pattern] = field(default_factory=list)
    assignments: list[tuple[str, str, float, bool]] = field(default_factory=list)


def dominant_features(structured: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The most common value (and its share) of each signature key among a pattern's members.

    A tie goes to the smallest value, so the signature does not depend on the members' order.
    """
    out = {}
    for key in SIGNATURE_KEYS:
        values = Counter(str(s.get(key)) for s in structured if s.get(key) is not None)
        if values:
            value, count = min(values.items(), key=lambda vc: (-vc[1], vc[0]))
            out[key] = {"value": value, "share": round(count / len(structured), 3)}
    return out


def domain_shares(domains: Sequence[str], totals: Mapping[str, int]) -> dict[str, Any]:
    """Per domain, how many of a pattern's members are of it, their share of the pattern and
    the share of the domain's failures the pattern holds.

    Args:
        domains: The domain of each member of the pattern.
        totals: Failures per domain in the whole taxonomy (its agent patterns).

    Returns:
        Domain -> ``{"count", "share", "of_domain"}``, sorted by domain.
    """
    counts = Counter(domains)
    return {
        d: {
            "count": n,
            "share": round(n / len(domains), 4),
            "of_domain": round(n / totals[d], 4) if totals.get(d) else None,
        }
        for d, n in sorted(counts.items())
    }


def spans(counts: Mapping[str, int], domains: Sequence[str], min_share: float) -> bool:
    """Whether every one of ``domains`` holds at least ``min_share`` of a pattern's members."""
    size = sum(counts.values())
    return size > 0 and all(counts.get(d, 0) >= min_share * size - 1e-9 for d in domains)


def span_score(
    patterns: Sequence[Mapping[str, int]], min_share: float = SPAN_MIN_SHARE
) -> dict[str, Any]:
    """How capability-shaped a taxonomy is: the fraction of failures in spanning patterns.

    A pattern spans when each domain of the taxonomy holds at least ``min_share`` of it
    (:func:`spans`). With fewer than two domains nothing can span and the score is None.

    Args:
        patterns: Per agent pattern, its member count per domain.
        min_share: The share each domain must hold of a spanning pattern.

    Returns:
        ``score``, ``min_share``, ``domains``, ``n_failures`` (per domain and in all),
        ``n_patterns`` and ``n_spanning_patterns``, ``n_spanning_failures``.
    """
    totals: Counter[str] = Counter()
    for counts in patterns:
        totals.update(counts)
    domains = sorted(totals)
    n = sum(totals.values())
    spanning = [c for c in patterns if len(domains) > 1 and spans(c, domains, min_share)]
    inside = sum(sum(c.values()) for c in spanning)
    return {
        "score": round(inside / n, 4) if n and len(domains) > 1 else None,
        "min_share": min_share,
        "domains": domains,
        "n_failures": {"all": n, **dict(sorted(totals.items()))},
        "n_patterns": len(patterns),
        "n_spanning_patterns": len(spanning),
        "n_spanning_failures": inside,
    }


def _unit(vectors: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return (vectors / np.where(norms == 0, 1, norms)).astype(np.float32)


def previous_lineages(wh: Warehouse) -> list[tuple[str, npt.NDArray[np.float32]]]:
    """(lineage_id, centroid) of the latest stored version's agent patterns."""
    rows = wh.con.execute(
        "SELECT p.lineage_id, p.signature->>'centroid' FROM patterns p "
        "JOIN latest_taxonomy t USING (taxonomy_id) WHERE NOT p.quarantined"
    ).fetchall()
    return [(lid, np.asarray(orjson.loads(c), dtype=np.float32)) for lid, c in rows if c]


def match_lineages(
    centroids: npt.NDArray[np.float32], previous: list[tuple[str, npt.NDArray[np.float32]]]
) -> list[str | None]:
    """For each centroid, the lineage of the most similar previous pattern (greedy, 1:1)."""
    found: list[str | None] = [None] * len(centroids)
    if not previous or not len(centroids):
        return found
    old = _unit(np.stack([c for _, c in previous]))
    sims = _unit(centroids) @ old.T
    pairs = sorted(
        ((sims[i, j], i, j) for i in range(len(centroids)) for j in range(len(old))), reverse=True
    )
    used_new, used_old = set(), set()
    for sim, i, j in pairs:
        if sim < LINEAGE_MIN_COSINE:
            break
        if i not in used_new and j not in used_old:
            found[i] = previous[j][0]
            used_new.add(i)
            used_old.add(j)
    return found


def next_version(wh: Warehouse) -> int:
    """The version number of the next taxonomy."""
    return int(wh.scalar("SELECT coalesce(max(version), 0) FROM taxonomies") or 0) + 1


def now() -> datetime:
    """UTC now without tzinfo (DuckDB TIMESTAMP)."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


def save_taxonomy(wh: Warehouse, taxonomy: Taxonomy, judgments: Sequence[Judgment]) -> None:
    """Store the judgments (new ones), the taxonomy, its patterns and assignments, atomically."""
    stamp = now()
    tables: dict[str, dict[str, list[Any]]] = {
        "judgments": _judgment_rows(judgments, stamp),
        "taxonomies": {
            "taxonomy_id": [taxonomy.taxonomy_id],
            "version": [taxonomy.version],
            "round": [taxonomy.round],
            "config": [_json(taxonomy.config)],
            "created_at": [stamp],
        },
        "patterns": _pattern_rows(taxonomy),
        "assignments": _assignment_rows(taxonomy),
    }
    with wh.transaction() as con:
        for name, cols in tables.items():
            insert_staged(con, name, TABLE_BY_NAME[name].arrow(cols), new_only=True)


def _json(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_SERIALIZE_NUMPY).decode()


def _judgment_rows(judgments: Sequence[Judgment], stamp: datetime) -> dict[str, list[Any]]:
    cols: dict[str, list[Any]] = {n: [] for n in TABLE_BY_NAME["judgments"].column_names}
    for j in judgments:
        values = {
            "judgment_id": j.judgment_id,
            "traj_uid": j.traj_uid,
            "judge": j.judge,
            "model": j.model,
            "prompt_version": j.prompt_version,
            "category": j.category,
            "blame": j.blame,
            "decisive_step": j.decisive_step,
            "explanation": j.explanation,
            "evidence": _json(j.evidence),
            "structured": _json(j.structured),
            "created_at": stamp,
        }
        for name, value in values.items():
            cols[name].append(value)
    return cols


def _pattern_rows(taxonomy: Taxonomy) -> dict[str, list[Any]]:
    cols: dict[str, list[Any]] = {n: [] for n in TABLE_BY_NAME["patterns"].column_names}
    for p in taxonomy.patterns:
        values = {
            "pattern_id": p.pattern_id,
            "taxonomy_id": taxonomy.taxonomy_id,
            "lineage_id": p.lineage_id,
            "name": p.name,
            "description": p.description,
            "size": len(p.members),
            "exemplars": _json(p.exemplars),
            "signature": _json(p.signature),
            "quarantined": p.quarantined,
        }
        for name, value in values.items():
            cols[name].append(value)
    return cols


def _assignment_rows(taxonomy: Taxonomy) -> dict[str, list[Any]]:
    rows = taxonomy.assignments
    return {
        "judgment_id": [r[0] for r in rows],
        "taxonomy_id": [taxonomy.taxonomy_id] * len(rows),
        "pattern_id": [r[1] for r in rows],
        "distance": [r[2] for r in rows],
        "is_outlier": [r[3] for r in rows],
    }


def new_taxonomy_id(judgment_ids: Sequence[str], config: dict[str, Any], version: int) -> str:
    """Content key of a taxonomy version."""
    return content_key("taxonomy", sorted(judgment_ids), config, version)


__all__ = [
    "Pattern",
    "Taxonomy",
    "domain_shares",
    "dominant_features",
    "match_lineages",
    "new_taxonomy_id",
    "next_version",
    "previous_lineages",
    "save_taxonomy",
    "span_score",
    "spans",
]
