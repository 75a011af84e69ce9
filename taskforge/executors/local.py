"""The local executor: every item in this process, one after the other."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import TypeVar

from taskforge.errors import DataError

T = TypeVar("T")
R = TypeVar("R")


class LocalExecutor:
    """Runs items in this process, in order (a rollout keeps its one-shard path with it)."""

    name = "local"
    in_process = True

    def __init__(self, address: str | None = None, num_workers: int = 0) -> None:
        """Take the executor settings' fields; there is no cluster to name.

        Args:
            address: Must be None (a cluster address is for the ray executor).
            num_workers: Ignored: one item runs at a time.
        """
        if address is not None:
            raise DataError(f"executor local: address {address!r} is only for the ray executor")

    def workers(self) -> int:
        """One item at a time."""
        return 1

    def map(self, fn: Callable[[T], R], items: Sequence[T]) -> Iterator[R]:
        """Yield ``fn(item)`` for every item, in order."""
        for item in items:
            yield fn(item)

    def close(self) -> None:
        """Nothing to release."""
