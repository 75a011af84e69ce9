"""Where independent units of work run: this process, or a Ray cluster.

An :class:`Executor` maps one function over picklable items and yields the results as they
finish. ``local`` (the default) runs everything in this process; ``ray`` (``pip install
'taskforge[ray]'``) runs each item as a Ray task on a local or remote cluster, retried when its
worker dies. Executors are found by name through :mod:`taskforge.registry` (kind
``executor``); :func:`open_executor` builds one from :class:`ExecutorSettings` and closes it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Protocol, TypeVar, runtime_checkable

from pydantic import ValidationError

from taskforge.contracts.loop import ExecutorSettings
from taskforge.errors import DataError, describe_validation_error

T = TypeVar("T")
R = TypeVar("R")


@runtime_checkable
class Executor(Protocol):
    """Runs one function over many items, each item independently of the others."""

    name: str
    """Registry name of the executor."""
    in_process: bool
    """True when the work runs in this process (callers may then keep their one-process path)."""

    def workers(self) -> int:
        """How many items run at the same time."""
        ...

    def map(self, fn: Callable[[T], R], items: Sequence[T]) -> Iterator[R]:
        """Yield ``fn(item)`` for every item, in the order they finish.

        ``fn`` and the items must be picklable for executors that leave the process, and
        ``fn`` must be safe to run again on an item whose worker died (it is retried).
        """
        ...

    def close(self) -> None:
        """Release what the executor started (a Ray cluster it launched)."""
        ...


def executor_settings(
    kind: str, address: str | None = None, num_workers: int = 0
) -> ExecutorSettings:
    """Executor settings from command-line values, with a one-line error when they are wrong."""
    data = {"kind": kind, "address": address, "num_workers": num_workers}
    try:
        return ExecutorSettings.model_validate(data)
    except ValidationError as exc:
        raise DataError(describe_validation_error("--executor", exc)) from exc


def build_executor(settings: ExecutorSettings) -> Executor:
    """The executor the settings name (a Ray executor connects or starts its cluster)."""
    from taskforge.registry import build

    executor: Executor = build(
        "executor", settings.kind, address=settings.address, num_workers=settings.num_workers
    )
    return executor


@contextmanager
def open_executor(settings: ExecutorSettings) -> Iterator[Executor]:
    """Build the executor the settings name, and close it afterwards."""
    executor = build_executor(settings)
    try:
        yield executor
    finally:
        executor.close()


__all__ = ["Executor", "ExecutorSettings", "build_executor", "executor_settings", "open_executor"]
