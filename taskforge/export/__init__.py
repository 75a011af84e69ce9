"""Exports of task pools: Hugging Face datasets, tau2 task sets, and the shared manifest."""

from taskforge.export.common import assign_splits, pair_tasks, parse_splits, split_of
from taskforge.export.hf import DEFAULT_SPLITS, ExportResult, export_hf, push_to_hub
from taskforge.export.hf_schema import columns, hf_features, row_to_task, task_row
from taskforge.export.manifest import MANIFEST_NAME, read_manifest, write_manifest
from taskforge.export.tau2 import TAU2_SPLITS, export_tau2

__all__ = [
    "DEFAULT_SPLITS",
    "MANIFEST_NAME",
    "TAU2_SPLITS",
    "ExportResult",
    "assign_splits",
    "columns",
    "export_hf",
    "export_tau2",
    "hf_features",
    "pair_tasks",
    "parse_splits",
    "push_to_hub",
    "read_manifest",
    "row_to_task",
    "split_of",
    "task_row",
    "write_manifest",
]
