"""Hybrid features: embeddings beside one-hot structured values; PCA reduction."""

from __future__ import annotations

import numpy as np
import pytest

from taskforge.mining.features import hybrid_features, one_hot, reduce

RECORDS = [
    {"tool": "cancel_pending_order", "is_write": True, "argument": "reason"},
    {"tool": "get_order_details", "is_write": False},
    {"tool": "cancel_pending_order", "is_write": True, "argument": None, "mechanism": "x"},
]


def test_one_hot_vocabulary_from_data_and_missing_as_none():
    matrix, columns = one_hot(RECORDS, keys=("tool", "is_write", "argument"))
    assert columns == [
        "tool=cancel_pending_order",
        "tool=get_order_details",
        "is_write=false",
        "is_write=true",
        "argument=none",
        "argument=reason",
    ]
    np.testing.assert_array_equal(matrix.sum(axis=1), [3, 3, 3])
    assert matrix[1, columns.index("argument=none")] == 1
    assert matrix[2, columns.index("argument=none")] == 1


def test_hybrid_features_shape_and_block_norm():
    rng = np.random.default_rng(0)
    emb = rng.normal(size=(3, 8)).astype(np.float32)
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    feats = hybrid_features(emb, RECORDS, weight=0.5)
    _, columns = one_hot(RECORDS)
    assert feats.shape == (3, 8 + len(columns))
    assert feats.dtype == np.float32
    np.testing.assert_array_equal(feats[:, :8], emb)
    np.testing.assert_allclose(np.linalg.norm(feats[:, 8:], axis=1), 0.5, atol=1e-6)
    # the same structured values give the same block
    full = hybrid_features(emb, [RECORDS[0], RECORDS[0], RECORDS[1]])
    np.testing.assert_array_equal(full[0, 8:], full[1, 8:])


def test_hybrid_features_weight_zero_and_errors():
    emb = np.eye(3, dtype=np.float32)
    np.testing.assert_array_equal(hybrid_features(emb, RECORDS, weight=0.0), emb)
    with pytest.raises(ValueError, match="do not match"):
        hybrid_features(emb, RECORDS[:2])
    with pytest.raises(ValueError, match="weight"):
        hybrid_features(emb, RECORDS, weight=-1)


def test_reduce_pca_deterministic_and_capped():
    rng = np.random.default_rng(1)
    data = rng.normal(size=(50, 20)).astype(np.float32)
    first, second = reduce(data, 5, seed=3), reduce(data, 5, seed=3)
    assert first.shape == (50, 5)
    np.testing.assert_allclose(first, second)
    assert reduce(data, 100).shape == (50, 20)
    assert reduce(data[:4], 10).shape == (4, 4)
