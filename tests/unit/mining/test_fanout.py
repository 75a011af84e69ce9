"""Judging and embedding fanned out in chunks give what one pass gives: the same taxonomy.

The chunk path runs in this process here (an executor that maps in a scrambled order but is
not ``in_process``); tests/integration/test_ray_mine.py runs it on Ray.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pytest

from taskforge.domains import get_domain
from taskforge.executors.local import LocalExecutor
from taskforge.mining.embed import HashingEmbedder
from taskforge.mining.fanout import ExecutorEmbedder, chunks
from taskforge.mining.pipeline import mine
from taskforge.mining.stages import build_stages
from taskforge.warehouse import Warehouse
from tests.unit.mining.test_pipeline import _warehouse, bench  # noqa: F401 (fixture)

T = TypeVar("T")
R = TypeVar("R")


class _Chunked(LocalExecutor):
    """Three 'workers' whose chunks finish last first (results must be put back in order)."""

    in_process = False

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def workers(self) -> int:
        return 3

    def map(self, fn: Callable[[T], R], items: Sequence[T]) -> Iterator[R]:
        self.calls += len(items)
        return (fn(item) for item in reversed(items))


def _mined(path: Path, executor: Any) -> tuple[Any, list[Any], np.ndarray]:
    with Warehouse.open(path) as wh:
        tools = get_domain("retail").toolkit_cls
        stages = build_stages(wh, tools, embedder="hashing", min_cluster_size=5, executor=executor)
        result = mine(wh, stages, config={"what": "fanout"})
        vectors = wh.query("SELECT vector FROM embeddings ORDER BY text_hash")["vector"].to_list()
    return result, [p for p in result.taxonomy.patterns], np.asarray(vectors)


def test_chunked_mining_gives_the_local_taxonomy(tmp_path: Path, bench: Path) -> None:  # noqa: F811
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    local, local_patterns, local_vectors = _mined(_warehouse(tmp_path / "a", bench), None)
    executor = _Chunked()
    fanned, patterns, vectors = _mined(_warehouse(tmp_path / "b", bench), executor)
    assert executor.calls == 2 * 6  # judging and embedding, 6 chunks each
    assert [j.model_dump() for j in fanned.judgments] == [j.model_dump() for j in local.judgments]
    assert fanned.taxonomy.taxonomy_id == local.taxonomy.taxonomy_id
    assert [(p.name, p.members, p.lineage_id) for p in patterns] == [
        (p.name, p.members, p.lineage_id) for p in local_patterns
    ]
    assert len(patterns) >= 2 and np.allclose(vectors, local_vectors, atol=1e-6)


def test_chunks_cover_the_items_in_order() -> None:
    parts = chunks(list(range(10)), workers=2)
    assert [c.start for c in parts] == [0, 2, 5, 7]
    assert [i for c in parts for i in c.items] == list(range(10))
    assert len(chunks([1, 2], workers=8)) == 2


def test_executor_embedder_keeps_rows_in_order() -> None:
    texts = [f"text {i % 4} of the agent" for i in range(9)]
    inner = HashingEmbedder()
    fanned = ExecutorEmbedder(inner, _Chunked())
    assert fanned.name == inner.name and fanned.dim == inner.dim
    assert np.allclose(fanned.embed(texts), inner.embed(texts))
    assert fanned.embed([]).shape == (0, inner.dim)


@pytest.mark.parametrize("workers", [1, 4])
def test_chunk_count_follows_the_workers(workers: int) -> None:
    assert len(chunks(list(range(100)), workers)) == 2 * workers
