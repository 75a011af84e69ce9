"""The trajectory warehouse: one DuckDB file with every run, task, trajectory and verdict.

Exports are loaded on first use, so importing a light submodule (``taskforge.warehouse.keys``)
does not load DuckDB, polars and pyarrow.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from taskforge.warehouse.ingest import get_adapter, ingest_paths, input_files
    from taskforge.warehouse.shards import ShardWriter
    from taskforge.warehouse.store import DEFAULT_PATH, ENV_VAR, Warehouse, WarehouseError

_EXPORTS = {
    "DEFAULT_PATH": "taskforge.warehouse.store",
    "ENV_VAR": "taskforge.warehouse.store",
    "Warehouse": "taskforge.warehouse.store",
    "WarehouseError": "taskforge.warehouse.store",
    "ShardWriter": "taskforge.warehouse.shards",
    "get_adapter": "taskforge.warehouse.ingest",
    "ingest_paths": "taskforge.warehouse.ingest",
    "input_files": "taskforge.warehouse.ingest",
}


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'taskforge.warehouse' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)


__all__ = [
    "DEFAULT_PATH",
    "ENV_VAR",
    "ShardWriter",
    "Warehouse",
    "WarehouseError",
    "get_adapter",
    "ingest_paths",
    "input_files",
]
