"""Judging and embedding on an executor: in this process, or fanned out in chunks on Ray.

:func:`judge_on` splits the failures into contiguous chunks, about ``CHUNKS_PER_WORKER`` a
worker, and the executor runs the judge on each (the judge object travels once, pickled; its
LLM client, if any, bounds its own concurrent calls in each worker). :class:`ExecutorEmbedder`
does the same for the texts an embedder gets: each chunk is embedded in a worker, the vectors
come back in order. Judgments and vectors are what the same judge and embedder give here: a
judge is a function of its inputs (an LLM judge's answers are cached), and an embedder embeds
each text independently of the others (float tolerance for batched matrix products).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
import numpy.typing as npt

from taskforge.contracts import Task, Trajectory
from taskforge.contracts.judgment import Judgment
from taskforge.executors import Executor

CHUNKS_PER_WORKER = 2
"""Chunks per worker: a little balancing between slow and fast chunks."""

JudgeItem = tuple[Task, Trajectory, Any, str]
"""What one judgment needs: the task, the trajectory, its reward info, its uid."""


@dataclass
class Chunk:
    """Contiguous items of a fan-out (picklable), with where they start."""

    start: int
    items: list[Any]


def chunks(items: Sequence[Any], workers: int) -> list[Chunk]:
    """Contiguous chunks of the items, about ``CHUNKS_PER_WORKER`` per worker."""
    n = min(len(items), max(1, workers) * CHUNKS_PER_WORKER)
    bounds = [(len(items) * i // n, len(items) * (i + 1) // n) for i in range(n)]
    return [Chunk(lo, list(items[lo:hi])) for lo, hi in bounds]


def fan_out(
    executor: Executor,
    fn: Callable[[Chunk], list[Any]],
    items: Sequence[Any],
    on_done: Callable[[int], None] | None = None,
) -> list[Any]:
    """``fn`` over chunks of the items on the executor; the results in the items' order."""
    out: list[Any] = [None] * len(items)
    for start, results in executor.map(partial(_run_chunk, fn), chunks(items, executor.workers())):
        out[start : start + len(results)] = results
        if on_done is not None:
            on_done(len(results))
    return out


def _run_chunk(fn: Callable[[Chunk], list[Any]], chunk: Chunk) -> tuple[int, list[Any]]:
    """The task of one chunk: where it starts, and its results."""
    return chunk.start, fn(chunk)


def judge_on(
    executor: Executor,
    judge: Any,
    items: Sequence[JudgeItem],
    on_done: Callable[[int], None] | None = None,
) -> list[Judgment]:
    """The judgment of every failure, in order, judged in chunks on the executor."""
    return fan_out(executor, partial(_judge_chunk, judge), items, on_done)


def _judge_chunk(judge: Any, chunk: Chunk) -> list[Judgment]:
    """Judge one chunk in a worker."""
    return [judge.judge(task, traj, reward, uid) for task, traj, reward, uid in chunk.items]


class ExecutorEmbedder:
    """An embedder whose texts are embedded in chunks on an executor (same name and width).

    Wrap it in :class:`~taskforge.mining.embed.CachedEmbedder` to keep the cache here: only
    texts not stored yet fan out.
    """

    def __init__(self, inner: Any, executor: Executor) -> None:
        self.inner = inner
        self.executor = executor
        self.name: str = inner.name
        self.dim: int = inner.dim

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """Vectors of ``texts``, row for row, embedded in chunks on the executor."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        rows = fan_out(self.executor, partial(_embed_chunk, self.inner), list(texts))
        return np.stack(rows).astype(np.float32, copy=False)


def _embed_chunk(inner: Any, chunk: Chunk) -> list[npt.NDArray[np.float32]]:
    """Embed one chunk in a worker (its model loaded once per worker process)."""
    return list(_worker_embedder(inner).embed(chunk.items))


_LOADED: dict[tuple[str, str], Any] = {}
"""Embedders a worker loaded, by class and name (a worker embeds many chunks)."""


def _worker_embedder(inner: Any) -> Any:
    """The worker's copy of the embedder, kept so its model loads once per process."""
    key = (type(inner).__qualname__, inner.name)
    if key not in _LOADED:
        _LOADED.clear()
        _LOADED[key] = inner
    return _LOADED[key]


__all__ = ["CHUNKS_PER_WORKER", "ExecutorEmbedder", "chunks", "fan_out", "judge_on"]
