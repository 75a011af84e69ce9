"""The options that choose where a command's heavy work runs (``--executor`` and friends)."""

from __future__ import annotations

import typer

EXECUTOR_OPTION = typer.Option(
    "local", "--executor", help="local: in this process; ray: chunks as Ray tasks."
)
RAY_ADDRESS_OPTION = typer.Option(
    None, "--ray-address", help="Ray cluster to join (default: start a local one)."
)
WORKERS_OPTION = typer.Option(
    0, "--workers", min=0, help="Ray tasks in flight (0: one per cluster CPU)."
)

__all__ = ["EXECUTOR_OPTION", "RAY_ADDRESS_OPTION", "WORKERS_OPTION"]
