"""Names and descriptions of failure clusters.

Two :class:`Labeler` implementations share one async interface
``await labeler.label(clusters, structured) -> {cluster_id: PatternLabel}``:

* :class:`KeywordLabeler` (offline): class-based TF-IDF keywords (c-TF-IDF, as in BERTopic:
  every cluster's texts form one document; a word scores its frequency in the cluster times
  ``log(1 + A / f)``, with ``A`` the mean word count per cluster and ``f`` the word's count
  over all clusters) plus the dominant structured values (mechanism, tool, argument) folded
  into the name, e.g. ``"wrong variant on <argument> in <write tool>"``.
  :meth:`KeywordLabeler.label_sync` is the same without an event loop.
* :class:`LLMLabeler`: an LLM names and describes each cluster from a few exemplars, shown
  beside the keywords of its most similar clusters for contrast (prompt:
  ``prompts/labeler.md``). Invalid answers fall back to the keyword label.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from string import Template
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from taskforge.mining.features import MISSING, structured_value

if TYPE_CHECKING:
    from taskforge.llm.client import LLMClient

PROMPT_PATH = Path(__file__).resolve().parent / "prompts" / "labeler.md"
NAME_KEYS: tuple[str, ...] = ("mechanism", "category", "argument", "tool")
"""Structured keys whose dominant values can enter a keyword label's name."""
DOMINANT_SHARE = 0.5
"""A structured value is dominant in a cluster when at least this share of it has it."""
MAX_NAME_CHARS = 80
_TOKENS = r"(?u)\b[A-Za-z_][A-Za-z0-9_]+\b"


@dataclass
class PatternLabel:
    """The label of one cluster.

    Attributes:
        name: Short name, e.g. ``"wrong variant in <write tool>"``.
        description: One or two sentences on what goes wrong.
        keywords: Most discriminative words of the cluster (c-TF-IDF), best first.
        source: ``"keywords"`` or ``"llm"``: what produced name and description.
    """

    name: str
    description: str
    keywords: list[str] = field(default_factory=list)
    source: str = "keywords"


@runtime_checkable
class Labeler(Protocol):
    """Labels clusters from their texts and structured diagnoses."""

    async def label(
        self, clusters: dict[int, list[str]], structured: dict[int, list[dict[str, Any]]]
    ) -> dict[int, PatternLabel]:
        """One label per cluster id of ``clusters``."""
        ...


# -- c-TF-IDF ------------------------------------------------------------------------------------
def class_tfidf(
    documents: Sequence[str], ngram_range: tuple[int, int] = (1, 1)
) -> tuple[npt.NDArray[np.float64], list[str]]:
    """c-TF-IDF of one document per class.

    Args:
        documents: The concatenated texts of each class.
        ngram_range: Word n-grams counted.

    Returns:
        The ``(classes, vocabulary)`` score matrix and the vocabulary.
    """
    from sklearn.feature_extraction.text import CountVectorizer

    vectorizer = CountVectorizer(
        stop_words="english", token_pattern=_TOKENS, ngram_range=ngram_range, lowercase=True
    )
    try:
        counts = np.asarray(vectorizer.fit_transform(documents).toarray(), dtype=np.float64)
    except ValueError:  # empty vocabulary: only stop words or no text at all
        return np.zeros((len(documents), 0)), []
    totals = counts.sum(axis=1, keepdims=True)
    tf = np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)
    mean_words = counts.sum() / max(len(documents), 1)
    idf = np.log1p(mean_words / np.maximum(counts.sum(axis=0), 1.0))
    return tf * idf, [str(t) for t in vectorizer.get_feature_names_out()]


def top_keywords(
    scores: npt.NDArray[np.float64], vocabulary: Sequence[str], top_k: int
) -> list[list[str]]:
    """The ``top_k`` best-scoring words of every row (ties broken alphabetically)."""
    out = []
    for row in scores:
        order = sorted(range(len(vocabulary)), key=lambda i: (-row[i], vocabulary[i]))
        out.append([vocabulary[i] for i in order[:top_k] if row[i] > 0])
    return out


def dominant_values(
    records: Sequence[dict[str, Any]], keys: Sequence[str] = NAME_KEYS
) -> dict[str, tuple[str, float]]:
    """Most common value and its share per key, when it is dominant and not missing.

    A tie goes to the smallest value, so the label does not depend on the records' order.
    """
    out: dict[str, tuple[str, float]] = {}
    if not records:
        return out
    for key in keys:
        counts = Counter(structured_value(r, key) for r in records)
        value, count = min(counts.items(), key=lambda vc: (-vc[1], vc[0]))
        share = count / len(records)
        if value != MISSING and share >= DOMINANT_SHARE:
            out[key] = (value, share)
    return out


def _humanise(value: str) -> str:
    return value.replace("_", " ").strip()


def structured_name(dominant: dict[str, tuple[str, float]], keywords: Sequence[str]) -> str:
    """A name from the dominant values: ``"<mechanism> on <argument> in <tool>"``.

    The head is the mechanism, else the category, else the top keywords.
    """
    if "mechanism" in dominant:
        head = _humanise(dominant["mechanism"][0])
    elif "category" in dominant:
        head = _humanise(dominant["category"][0])
    else:
        head = " ".join(keywords[:3]) or "unnamed pattern"
    if "argument" in dominant:
        head += f" on {dominant['argument'][0]}"
    if "tool" in dominant:
        head += f" in {dominant['tool'][0]}"
    return head[:MAX_NAME_CHARS]


def _describe(size: int, dominant: dict[str, tuple[str, float]], keywords: list[str]) -> str:
    parts = [f"{size} failure{'s' if size != 1 else ''}"]
    if dominant:
        shares = ", ".join(f"{k}={v} ({s:.0%})" for k, (v, s) in dominant.items())
        parts.append(f"mostly {shares}")
    if keywords:
        parts.append(f"keywords: {', '.join(keywords)}")
    return "; ".join(parts) + "."


def _deduplicate(labels: dict[int, PatternLabel]) -> None:
    """Tell apart labels that share a name by what differs: a keyword only that cluster has.

    A label with no such keyword keeps the shared name; clusters whose labels do not differ
    are then the same pattern (:func:`same_names` finds them, the mining pipeline merges them).
    """
    for name, cids in same_names(labels).items():
        for cid in cids:
            others = {k for other in cids if other != cid for k in labels[other].keywords}
            extra = next(
                (k for k in labels[cid].keywords if k not in others and _humanise(k) not in name),
                None,
            )
            if extra is not None:
                labels[cid].name = f"{name} ({_humanise(extra)})"


def same_names(labels: dict[int, PatternLabel]) -> dict[str, list[int]]:
    """Names that two or more clusters share, with those clusters (in id order)."""
    groups: dict[str, list[int]] = {}
    for cid in sorted(labels):
        groups.setdefault(labels[cid].name, []).append(cid)
    return {name: cids for name, cids in groups.items() if len(cids) > 1}


# -- labelers ------------------------------------------------------------------------------------
class KeywordLabeler:
    """Offline labels: c-TF-IDF keywords plus the dominant structured values.

    Args:
        top_k: Keywords kept per cluster.
        ngram_range: Word n-grams scored.
    """

    def __init__(self, top_k: int = 5, ngram_range: tuple[int, int] = (1, 1)) -> None:
        self.top_k = top_k
        self.ngram_range = ngram_range

    def keywords(self, clusters: dict[int, list[str]]) -> dict[int, list[str]]:
        """The ``top_k`` discriminative keywords of every cluster."""
        ids = sorted(clusters)
        scores, vocabulary = class_tfidf([" ".join(clusters[c]) for c in ids], self.ngram_range)
        return dict(zip(ids, top_keywords(scores, vocabulary, self.top_k), strict=True))

    def label_sync(
        self, clusters: dict[int, list[str]], structured: dict[int, list[dict[str, Any]]]
    ) -> dict[int, PatternLabel]:
        """One keyword label per cluster (no event loop needed)."""
        words = self.keywords(clusters)
        labels = {}
        for cid in sorted(clusters):
            dominant = dominant_values(structured.get(cid, []))
            labels[cid] = PatternLabel(
                name=structured_name(dominant, words[cid]),
                description=_describe(len(clusters[cid]), dominant, words[cid]),
                keywords=words[cid],
            )
        _deduplicate(labels)
        return labels

    async def label(
        self, clusters: dict[int, list[str]], structured: dict[int, list[dict[str, Any]]]
    ) -> dict[int, PatternLabel]:
        """See :class:`Labeler`."""
        return self.label_sync(clusters, structured)


def neighbours(clusters: dict[int, list[str]], n: int) -> dict[int, list[int]]:
    """For every cluster, the ``n`` clusters with the most similar c-TF-IDF vectors."""
    ids = sorted(clusters)
    scores, _ = class_tfidf([" ".join(clusters[c]) for c in ids])
    norms = np.linalg.norm(scores, axis=1, keepdims=True)
    unit = np.divide(scores, norms, out=np.zeros_like(scores), where=norms > 0)
    similarity = unit @ unit.T
    out = {}
    for row, cid in enumerate(ids):
        order = sorted((j for j in range(len(ids)) if j != row), key=lambda j: -similarity[row, j])
        out[cid] = [ids[j] for j in order[:n]]
    return out


def exemplars(texts: Sequence[str], n: int) -> list[str]:
    """Up to ``n`` distinct texts spread evenly over the list (deterministic)."""
    distinct = list(dict.fromkeys(texts))
    if len(distinct) <= n:
        return distinct
    step = len(distinct) / n
    return [distinct[int(i * step)] for i in range(n)]


def parse_label(content: str | None) -> tuple[str, str] | None:
    """``(name, description)`` from an answer holding a JSON object, or None when invalid."""
    if not content:
        return None
    match = re.search(r"\{.*\}", content, flags=re.DOTALL)
    if match is None:
        return None
    try:
        data = json.loads(match.group(0))
    except json.JSONDecodeError:
        return None
    if not isinstance(data, dict):
        return None
    name, description = data.get("name"), data.get("description")
    if not isinstance(name, str) or not isinstance(description, str):
        return None
    name = " ".join(name.split())
    if not name or len(name) > MAX_NAME_CHARS or not description.strip():
        return None
    return name, description.strip()


class LLMLabeler:
    """An LLM names and describes each cluster; keyword labels are the fallback.

    Args:
        client: The labeler role's LLM client.
        n_exemplars: Texts of the cluster shown to the model.
        n_neighbours: Most similar clusters whose keywords are shown for contrast.
        keyword_labeler: Supplies keywords, contrast and the fallback labels.
        seed: Sampling seed passed to every call.
    """

    def __init__(
        self,
        client: LLMClient,
        n_exemplars: int = 5,
        n_neighbours: int = 3,
        keyword_labeler: KeywordLabeler | None = None,
        seed: int | None = 0,
    ) -> None:
        self.client = client
        self.n_exemplars = n_exemplars
        self.n_neighbours = n_neighbours
        self.keyword_labeler = keyword_labeler or KeywordLabeler()
        self.seed = seed
        self.template = Template(PROMPT_PATH.read_text(encoding="utf-8"))

    def prompt(
        self,
        texts: Sequence[str],
        records: Sequence[dict[str, Any]],
        contrast: dict[int, PatternLabel],
    ) -> str:
        """The user message asking to label one cluster."""
        shown = "\n".join(f"- {t}" for t in exemplars(texts, self.n_exemplars))
        dominant = dominant_values(records)
        facts = ", ".join(f"{k}={v} ({s:.0%})" for k, (v, s) in dominant.items())
        others = "\n".join(f"- {lab.name}: {', '.join(lab.keywords)}" for lab in contrast.values())
        return self.template.substitute(
            size=len(texts),
            exemplars=shown,
            structured=facts or "no dominant value",
            neighbours=others or "- (none)",
        )

    async def _one(self, prompt: str, fallback: PatternLabel) -> PatternLabel:
        from taskforge.llm.client import LLMError

        messages = [{"role": "user", "content": prompt}]
        try:
            completion = await self.client.complete(messages, seed=self.seed)
        except LLMError:
            return fallback
        parsed = parse_label(completion.message.content)
        if parsed is None:
            return fallback
        return PatternLabel(parsed[0], parsed[1], list(fallback.keywords), source="llm")

    async def label(
        self, clusters: dict[int, list[str]], structured: dict[int, list[dict[str, Any]]]
    ) -> dict[int, PatternLabel]:
        """See :class:`Labeler`; clusters are labelled concurrently."""
        base = self.keyword_labeler.label_sync(clusters, structured)
        near = neighbours(clusters, self.n_neighbours) if len(clusters) > 1 else {}
        ids = sorted(clusters)
        prompts = [
            self.prompt(clusters[c], structured.get(c, []), {n: base[n] for n in near.get(c, [])})
            for c in ids
        ]
        results = await asyncio.gather(
            *(self._one(p, base[c]) for p, c in zip(prompts, ids, strict=True))
        )
        labels = dict(zip(ids, results, strict=True))
        _deduplicate(labels)
        for cids in same_names(labels).values():  # the model named different clusters alike:
            for cid in cids:  # their keyword labels decide whether they differ
                labels[cid] = base[cid]
        return labels
