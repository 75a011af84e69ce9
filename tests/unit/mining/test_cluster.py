"""Clusterers: HDBSCAN on synthetic blobs, outliers kept with a nearest cluster, k-means."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest
from sklearn.metrics import adjusted_rand_score

from taskforge.mining.cluster import (
    Clusterer,
    ClusterResult,
    HDBSCANClusterer,
    KMeansClusterer,
    build_result,
    canonical_labels,
)


def blobs(
    n_per: int = 60, k: int = 5, dim: int = 32, spread: float = 0.08, seed: int = 0
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]]:
    """Unit-norm points around ``k`` random unit directions."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(k, dim))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    points = np.repeat(centres, n_per, axis=0) + rng.normal(scale=spread, size=(k * n_per, dim))
    points /= np.linalg.norm(points, axis=1, keepdims=True)
    return points.astype(np.float32), np.repeat(np.arange(k), n_per)


def test_hdbscan_recovers_blobs():
    points, truth = blobs()
    result = HDBSCANClusterer(min_cluster_size=10).fit(points)
    assert isinstance(HDBSCANClusterer(), Clusterer)
    assert adjusted_rand_score(truth, result.nearest) >= 0.95
    assert result.n_clusters == 5
    assert result.centroids.shape == (5, 32)


def test_outliers_get_their_nearest_cluster():
    points, _ = blobs(seed=2)
    rng = np.random.default_rng(3)
    # outliers: a little off cluster 0's direction, far from every other point
    base = points[:60].mean(axis=0)
    stray = base + rng.normal(scale=0.2, size=(4, points.shape[1]))
    data = np.vstack([points, stray]).astype(np.float32)
    result = HDBSCANClusterer(min_cluster_size=10).fit(data)
    assert result.outlier[-4:].all()
    np.testing.assert_array_equal(result.labels[result.outlier], -1)
    assert (result.nearest >= 0).all()
    home = result.labels[0]
    unit = lambda m: m / np.linalg.norm(m, axis=-1, keepdims=True)  # noqa: E731
    expected = np.argmax(unit(stray) @ unit(result.centroids).T, axis=1)
    np.testing.assert_array_equal(result.nearest[-4:], expected)
    assert (expected == home).sum() >= 3
    assert len(result.members(home, include_outliers=True)) > len(result.members(home))


def test_hdbscan_deterministic():
    points, _ = blobs(seed=4)
    first = HDBSCANClusterer(min_cluster_size=8).fit(points)
    second = HDBSCANClusterer(min_cluster_size=8).fit(points)
    np.testing.assert_array_equal(first.labels, second.labels)
    np.testing.assert_array_equal(first.centroids, second.centroids)


def test_canonical_labels_largest_first():
    raw = np.array([7, 7, -1, 3, 3, 3, 9])
    np.testing.assert_array_equal(canonical_labels(raw), [1, 1, -1, 0, 0, 0, 2])


def test_no_cluster_found_still_gives_nearest():
    data = np.random.default_rng(0).normal(size=(5, 4)).astype(np.float32)
    result = HDBSCANClusterer(min_cluster_size=10).fit(data)
    assert result.outlier.all()
    np.testing.assert_array_equal(result.nearest, 0)
    assert result.centroids.shape == (1, 4)
    empty = build_result(np.zeros((0, 4), dtype=np.float32), np.zeros(0, dtype=np.int64))
    assert empty.labels.shape == (0,)


def test_kmeans_baseline():
    points, truth = blobs(seed=5)
    result = KMeansClusterer(5, seed=0).fit(points)
    assert adjusted_rand_score(truth, result.labels) >= 0.95
    assert not result.outlier.any()
    with pytest.raises(ValueError):
        KMeansClusterer(0)


def test_clusters_with_the_same_label_are_merged_into_one_pattern():
    from types import SimpleNamespace

    from taskforge.mining.label import KeywordLabeler
    from taskforge.mining.pipeline import _labelled_clusters

    rng = np.random.default_rng(0)
    features = np.vstack([rng.normal(c, 0.05, (4, 3)) for c in (0.0, 1.0, 5.0)]).astype(np.float32)
    labels = np.repeat([0, 1, 2], 4)

    class Fixed:
        def fit(self, rows: npt.NDArray[np.float32]) -> ClusterResult:
            return build_result(rows, labels)

    same = "The agent stopped early and never made the second write."
    texts = [same] * 8 + ["The refund went to the wrong gift card payment method."] * 4
    structured = [{"mechanism": "early_stop"}] * 8 + [{"mechanism": "wrong_payment"}] * 4
    stages = SimpleNamespace(clusterer=Fixed(), labeler=KeywordLabeler())
    result, members, names = _labelled_clusters(stages, features, texts, structured)  # type: ignore[arg-type]
    assert result.n_clusters == 2
    assert sorted(len(m) for m in members.values()) == [4, 8]
    assert sorted(label.name for label in names.values()) == ["early stop", "wrong payment"]
