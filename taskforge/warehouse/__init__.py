"""The trajectory warehouse: one DuckDB file with every run, task, trajectory and verdict."""

from taskforge.warehouse.ingest import get_adapter, ingest_paths, input_files
from taskforge.warehouse.shards import ShardWriter
from taskforge.warehouse.store import DEFAULT_PATH, ENV_VAR, Warehouse, WarehouseError

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
