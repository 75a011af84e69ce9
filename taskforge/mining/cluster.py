"""Clustering of failure features into patterns.

A :class:`Clusterer` turns an ``(n, d)`` feature matrix into a :class:`ClusterResult`.
Cluster ids are renumbered canonically (largest cluster first, ties by first member), so
equal inputs give equal ids. Outliers (HDBSCAN noise) keep label ``-1`` but are never lost:
``nearest`` gives every point a cluster, its own or, for an outlier, the one whose centroid
is closest by cosine similarity.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

NOISE = -1
"""Label of a point HDBSCAN left out of every cluster."""


@dataclass
class ClusterResult:
    """The clusters of one fit.

    Attributes:
        labels: ``(n,)`` cluster id per point, ``-1`` for outliers.
        nearest: ``(n,)`` cluster of every point: its own, or for an outlier the cluster whose
            centroid is nearest by cosine.
        centroids: ``(k, d)`` mean feature vector of each cluster's members (row = cluster id).
        outlier: ``(n,)`` True where ``labels == -1``.
    """

    labels: npt.NDArray[np.int64]
    nearest: npt.NDArray[np.int64]
    centroids: npt.NDArray[np.float32]
    outlier: npt.NDArray[np.bool_]

    @property
    def n_clusters(self) -> int:
        """Number of clusters."""
        return int(self.centroids.shape[0])

    def members(self, cluster: int, include_outliers: bool = False) -> npt.NDArray[np.int64]:
        """Indices of the points of ``cluster`` (with its nearest outliers if asked)."""
        source = self.nearest if include_outliers else self.labels
        return np.flatnonzero(source == cluster).astype(np.int64)


@runtime_checkable
class Clusterer(Protocol):
    """Groups feature rows into clusters."""

    def fit(self, features: npt.NDArray[np.floating[Any]]) -> ClusterResult:
        """Cluster the rows of ``features`` (deterministic for equal inputs)."""
        ...


def canonical_labels(labels: npt.NDArray[np.integer[Any]]) -> npt.NDArray[np.int64]:
    """Cluster ids renumbered 0.. by size (largest first), ties by first occurrence; -1 kept."""
    raw = np.asarray(labels, dtype=np.int64)
    ids = [int(c) for c in np.unique(raw) if c != NOISE]
    first = {c: int(np.argmax(raw == c)) for c in ids}
    size = {c: int(np.sum(raw == c)) for c in ids}
    order = sorted(ids, key=lambda c: (-size[c], first[c]))
    mapping = {old: new for new, old in enumerate(order)}
    out = np.full(raw.shape, NOISE, dtype=np.int64)
    for old, new in mapping.items():
        out[raw == old] = new
    return out


def _unit(rows: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    return np.divide(rows, norms, out=np.zeros_like(rows), where=norms > 0)


def build_result(
    features: npt.NDArray[np.floating[Any]], labels: npt.NDArray[np.integer[Any]]
) -> ClusterResult:
    """Centroids, outlier flags and nearest clusters for canonicalised ``labels``.

    When no cluster was found at all, every point is an outlier of one pseudo-cluster ``0``
    (centroid = mean of all points), so ``nearest`` is still defined.
    """
    data = np.asarray(features, dtype=np.float32)
    canon = canonical_labels(labels)
    outlier = canon == NOISE
    k = int(canon.max()) + 1 if canon.size and canon.max() >= 0 else 0
    if k == 0:
        centroids = data.mean(axis=0, keepdims=True) if len(data) else data[:0]
        nearest = np.zeros(len(data), dtype=np.int64)
        return ClusterResult(canon, nearest, centroids.astype(np.float32), outlier)
    centroids = np.stack([data[canon == c].mean(axis=0) for c in range(k)]).astype(np.float32)
    nearest = canon.copy()
    if outlier.any():
        similarity = _unit(data[outlier]) @ _unit(centroids).T
        nearest[outlier] = np.argmax(similarity, axis=1)
    return ClusterResult(canon, nearest, centroids, outlier)


class HDBSCANClusterer:
    """HDBSCAN (scikit-learn's, else the ``hdbscan`` package), fast settings by default.

    ``algorithm="brute"`` computes the pairwise distances in one matrix product: on 384-d
    embeddings it is about 15x faster than the tree-based default (trees do not help in high
    dimension). Memory is ``O(n^2)``: about 0.8 GB of float64 for 10,000 points.

    Args:
        min_cluster_size: Smallest group HDBSCAN calls a cluster.
        min_samples: Neighbourhood size for core distances (None: ``min_cluster_size``).
        metric: Distance metric; with unit-norm features Euclidean ranks like cosine.
        algorithm: HDBSCAN's neighbour search (``"brute"``, ``"kd_tree"``, ``"auto"``...).
        cluster_selection_method: ``"eom"`` (fewer, larger clusters) or ``"leaf"``.
        cluster_selection_epsilon: Merge clusters closer than this distance.
    """

    def __init__(
        self,
        min_cluster_size: int = 10,
        min_samples: int | None = None,
        metric: str = "euclidean",
        algorithm: str = "brute",
        *,
        cluster_selection_method: str = "eom",
        cluster_selection_epsilon: float = 0.0,
    ) -> None:
        self.min_cluster_size = min_cluster_size
        self.min_samples = min_samples
        self.metric = metric
        self.algorithm = algorithm
        self.cluster_selection_method = cluster_selection_method
        self.cluster_selection_epsilon = cluster_selection_epsilon

    def fit(self, features: npt.NDArray[np.floating[Any]]) -> ClusterResult:
        """Cluster the rows of ``features`` (see :class:`Clusterer`)."""
        data = np.asarray(features, dtype=np.float64)
        if len(data) < max(2, self.min_cluster_size):
            return build_result(data, np.full(len(data), NOISE, dtype=np.int64))
        return build_result(data, self._labels(data))

    def _labels(self, data: npt.NDArray[np.float64]) -> npt.NDArray[np.int64]:
        kwargs: dict[str, Any] = {
            "min_cluster_size": self.min_cluster_size,
            "min_samples": self.min_samples,
            "metric": self.metric,
            "cluster_selection_method": self.cluster_selection_method,
            "cluster_selection_epsilon": self.cluster_selection_epsilon,
        }
        try:
            from sklearn.cluster import HDBSCAN
        except ImportError:
            return self._labels_hdbscan_package(data, kwargs)
        if "copy" in HDBSCAN().get_params():
            kwargs["copy"] = True  # never let it write into the caller's array
        model = HDBSCAN(algorithm=self.algorithm, **kwargs)
        return np.asarray(model.fit_predict(data), dtype=np.int64)

    def _labels_hdbscan_package(
        self, data: npt.NDArray[np.float64], kwargs: dict[str, Any]
    ) -> npt.NDArray[np.int64]:
        try:
            import hdbscan
        except ImportError as exc:
            raise ImportError(
                "HDBSCAN needs scikit-learn>=1.3 (or the hdbscan package): "
                "pip install 'taskforge[embed]'"
            ) from exc
        algorithm = "generic" if self.algorithm == "brute" else "best"
        model = hdbscan.HDBSCAN(algorithm=algorithm, **kwargs)
        return np.asarray(model.fit_predict(data), dtype=np.int64)


class KMeansClusterer:
    """k-means with ``k`` clusters (no outliers): a simple baseline.

    Args:
        k: Number of clusters (capped at the number of points).
        seed: Random state of the initialisation.
        n_init: Initialisations tried; the best is kept.
    """

    def __init__(self, k: int, seed: int = 0, n_init: int = 4) -> None:
        if k < 1:
            raise ValueError(f"k must be >= 1, got {k}")
        self.k = k
        self.seed = seed
        self.n_init = n_init

    def fit(self, features: npt.NDArray[np.floating[Any]]) -> ClusterResult:
        """Cluster the rows of ``features`` (see :class:`Clusterer`)."""
        from sklearn.cluster import KMeans

        data = np.asarray(features, dtype=np.float32)
        if len(data) == 0:
            return build_result(data, np.zeros(0, dtype=np.int64))
        k = min(self.k, len(data))
        model = KMeans(n_clusters=k, random_state=self.seed, n_init=self.n_init)
        return build_result(data, np.asarray(model.fit_predict(data), dtype=np.int64))


def merge_clusters(
    features: npt.NDArray[np.floating[Any]],
    result: ClusterResult,
    groups: Iterable[Sequence[int]],
) -> ClusterResult:
    """``result`` with the clusters of each group joined into one.

    Ids are renumbered (largest first), centroids recomputed, outliers reassigned to the
    nearest of the new centroids.
    """
    labels = result.labels.copy()
    for group in groups:
        for cluster in group[1:]:
            labels[result.labels == cluster] = group[0]
    return build_result(features, labels)
