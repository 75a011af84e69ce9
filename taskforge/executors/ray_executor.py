"""The Ray executor: every item a Ray task on a local or remote cluster (Ray imported lazily).

Given an address, it connects to that cluster (``ray://head:10001``, ``head:6379`` or
``auto``); without one it starts a local cluster, and shuts it down when closed. When Ray is
already initialised in this process (a test's cluster, a verl job) it uses that one and leaves
it running. Each task asks for one CPU and is retried up to ``max_retries`` times when its
worker process dies (an exception raised by the function itself is not retried; it reaches
the caller). Workers must see the paths the items name: a shared filesystem on a real cluster.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

from taskforge.errors import DataError

T = TypeVar("T")
R = TypeVar("R")


def import_ray() -> Any:
    """The ``ray`` module, or a clear error saying how to install it."""
    try:
        import ray
    except ImportError as exc:
        raise DataError(
            f"executor ray: ray is not installed ({exc}); pip install 'taskforge[ray]'"
        ) from exc
    return ray


class RayExecutor:
    """Runs items as Ray tasks, at most ``workers()`` at a time, retried when a worker dies."""

    name = "ray"
    in_process = False

    def __init__(
        self, address: str | None = None, num_workers: int = 0, max_retries: int = 3
    ) -> None:
        """Connect to (or start) the cluster.

        Args:
            address: Cluster address; None starts a local cluster.
            num_workers: Tasks in flight at once; 0 means one per CPU of the cluster (a local
                cluster started here then gets that many CPUs).
            max_retries: Retries of a task whose worker died.
        """
        self._ray = import_ray()
        self.num_workers = num_workers
        self.max_retries = max_retries
        self._started = not self._ray.is_initialized()
        if self._started:
            try:
                self._ray.init(**_init_args(address, num_workers))
            except (ConnectionError, RuntimeError, ValueError) as exc:
                where = f"cluster {address!r}" if address else "a local cluster"
                raise DataError(f"executor ray: cannot start or join {where} ({exc})") from exc

    def workers(self) -> int:
        """``num_workers``, or the cluster's CPUs when that is 0."""
        if self.num_workers:
            return self.num_workers
        return max(1, int(self._ray.cluster_resources().get("CPU", 1)))

    def map(self, fn: Callable[[T], R], items: Sequence[T]) -> Iterator[R]:
        """Yield ``fn(item)`` for every item as its task finishes; unfinished ones are
        cancelled when the caller stops early or a task fails."""
        ray = self._ray
        remote = ray.remote(num_cpus=1, max_retries=self.max_retries)(_apply)
        fn_ref = ray.put(fn)  # any picklable callable (a partial too), shipped once
        queue, limit = list(reversed(items)), self.workers()
        pending: list[Any] = []
        try:
            while queue or pending:
                while queue and len(pending) < limit:
                    pending.append(remote.remote(fn_ref, queue.pop()))
                done, pending = ray.wait(pending, num_returns=1)
                yield self._result(done[0])
        finally:
            for ref in pending:
                ray.cancel(ref, force=True)

    def _result(self, ref: Any) -> Any:
        try:
            return self._ray.get(ref)
        except self._ray.exceptions.WorkerCrashedError as exc:
            raise DataError(
                f"executor ray: a worker died {self.max_retries + 1} times on one task ({exc}); "
                "rerun to resume from what finished"
            ) from exc

    def close(self) -> None:
        """Shut down the cluster if this executor started it."""
        if self._started and self._ray.is_initialized():
            self._ray.shutdown()
        self._started = False


def _apply(fn: Callable[[T], R], item: T) -> R:
    """The Ray task: one item through the function."""
    return fn(item)


def _init_args(address: str | None, num_workers: int) -> dict[str, Any]:
    """``ray.init`` arguments: the cluster to join, or a local one without a dashboard."""
    if address is not None:
        return {"address": address, "logging_level": logging.WARNING}
    args: dict[str, Any] = {"include_dashboard": False, "logging_level": logging.WARNING}
    if num_workers:
        args["num_cpus"] = num_workers
    return args
