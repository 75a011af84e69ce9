"""Hybrid clustering features: text embeddings beside one-hot structured diff values.

A judgment's structured diagnosis (tool, read/write, differing argument, mechanism...) is
often a sharper signal of its failure mode than the wording of its explanation. The one-hot
block built here is L2-normalised per row and scaled by ``weight``, so with unit-norm
embeddings the two halves contribute comparably to Euclidean distances.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

DEFAULT_KEYS: tuple[str, ...] = ("category", "tool", "is_write", "argument", "mechanism")
"""Structured keys one-hot encoded by default."""

MISSING = "none"
"""Value standing in for a missing (or None) structured key."""


def structured_value(record: dict[str, Any], key: str) -> str:
    """``record[key]`` as a vocabulary token; missing or None -> ``"none"``."""
    value = record.get(key)
    if value is None:
        return MISSING
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def one_hot(
    structured: Sequence[dict[str, Any]], keys: Sequence[str] = DEFAULT_KEYS
) -> tuple[npt.NDArray[np.float32], list[str]]:
    """One-hot encoding of the ``keys`` of every record, vocabulary built from the data.

    Returns:
        The ``(n, v)`` 0/1 matrix and its column names ``"key=value"`` (sorted per key).
    """
    columns: list[str] = []
    index: dict[tuple[str, str], int] = {}
    for key in keys:
        for value in sorted({structured_value(r, key) for r in structured}):
            index[(key, value)] = len(columns)
            columns.append(f"{key}={value}")
    matrix = np.zeros((len(structured), len(columns)), dtype=np.float32)
    for row, record in enumerate(structured):
        for key in keys:
            matrix[row, index[(key, structured_value(record, key))]] = 1.0
    return matrix, columns


def hybrid_features(
    embeddings: npt.NDArray[np.floating[Any]],
    structured: Sequence[dict[str, Any]],
    weight: float = 1.0,
    keys: Sequence[str] = DEFAULT_KEYS,
) -> npt.NDArray[np.float32]:
    """Embeddings concatenated with the scaled, row-normalised one-hot structured block.

    Args:
        embeddings: ``(n, d)`` text embeddings (normally unit rows).
        structured: One structured diagnosis dict per row.
        weight: Norm of each row's structured block (0 or no keys: embeddings only).
        keys: Structured keys to encode.

    Returns:
        ``(n, d + v)`` float32 features.

    Raises:
        ValueError: when the row counts differ or the weight is negative.
    """
    emb = np.asarray(embeddings, dtype=np.float32)
    if emb.ndim != 2 or emb.shape[0] != len(structured):
        raise ValueError(
            f"embeddings of shape {emb.shape} do not match {len(structured)} structured records"
        )
    if weight < 0:
        raise ValueError(f"weight must be >= 0, got {weight}")
    if weight == 0 or not keys:
        return emb
    block, _ = one_hot(structured, keys)
    norms = np.linalg.norm(block, axis=1, keepdims=True)
    block = np.divide(block, norms, out=np.zeros_like(block), where=norms > 0) * weight
    return np.hstack([emb, block.astype(np.float32)])


def reduce(
    features: npt.NDArray[np.floating[Any]], n_components: int, seed: int = 0
) -> npt.NDArray[np.float32]:
    """PCA projection to at most ``n_components`` dimensions (deterministic for a seed).

    The count is capped at ``min(n_samples, n_features)``; nothing is done when the features
    are already that narrow.
    """
    from sklearn.decomposition import PCA

    data = np.asarray(features, dtype=np.float32)
    k = min(n_components, data.shape[0], data.shape[1])
    if k >= data.shape[1]:
        return data
    pca = PCA(n_components=k, random_state=seed, svd_solver="auto")
    return np.asarray(pca.fit_transform(data), dtype=np.float32)
