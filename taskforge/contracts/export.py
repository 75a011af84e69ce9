"""The provenance block every exporter writes beside its files (``taskforge_export.json``)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from taskforge.contracts.base import SCHEMA_VERSION, Contract, versioned
from taskforge.contracts.pool import TaskPool


class ExportManifest(Contract):
    """What an export holds and how to make it again."""

    model_config = versioned("ExportManifest")

    exporter: str = Field(description="Which exporter wrote it: 'hf', 'tau2', 'verl', ...")
    taskforge_version: str = Field(description="taskforge version that wrote it.")
    pool: TaskPool = Field(description="The pool exported (every entry, offered or not).")
    command: str | None = Field(default=None, description="Command line that made the export.")
    config: dict[str, Any] = Field(
        default_factory=dict, description="Exporter settings (splits, seed, paths, ...)."
    )
    files: dict[str, str] = Field(
        default_factory=dict, description="Every exported file (relative path) -> SHA-256."
    )
    extra: dict[str, Any] = Field(
        default_factory=dict, description="Exporter-specific facts (db_hash, spec_hash, ...)."
    )
    schema_version: str = Field(
        default=SCHEMA_VERSION, description="Version of the taskforge contracts."
    )
