"""The provenance block every exporter writes last: ``taskforge_export.json``.

It holds the pool (every entry, offered or not, with lineage and evidence), the command and
config that made the export, exporter-specific facts (DB hash, reward-spec hash, ...) and the
SHA-256 of every other file in the export, so an export can be checked and made again.
"""

from __future__ import annotations

import hashlib
import json
import shlex
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from taskforge.contracts import ExportManifest, TaskPool
from taskforge.contracts.io import read_json
from taskforge.errors import DataError

MANIFEST_NAME = "taskforge_export.json"


def command_line(argv: list[str] | None = None) -> str:
    """This process's command line as a shell would take it back: ``taskforge ...``."""
    return shlex.join(["taskforge", *(sys.argv[1:] if argv is None else argv)])


def file_hashes(out: Path) -> dict[str, str]:
    """Relative path -> SHA-256 of every file under ``out`` (hidden ones and the manifest
    excepted), sorted by path."""
    hashes = {}
    for path in sorted(p for p in out.rglob("*") if p.is_file()):
        rel = path.relative_to(out).as_posix()
        if rel == MANIFEST_NAME or any(
            part.startswith(".") for part in path.relative_to(out).parts
        ):
            continue
        hashes[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return hashes


def write_manifest(
    out: Path,
    pool: TaskPool,
    command: str | None,
    config: Mapping[str, Any] | None,
    extra: Mapping[str, Any] | None = None,
    *,
    exporter: str,
) -> ExportManifest:
    """Write ``out/taskforge_export.json`` (call it after every other file is written)."""
    from taskforge import __version__
    from taskforge.cli.common import write_atomic

    manifest = ExportManifest(
        exporter=exporter,
        taskforge_version=__version__,
        pool=pool,
        command=command,
        config=dict(config or {}),
        files=file_hashes(out),
        extra=dict(extra or {}),
    )
    text = json.dumps(manifest.model_dump(mode="json"), indent=2, ensure_ascii=False)
    write_atomic(out / MANIFEST_NAME, text + "\n")
    return manifest


def read_manifest(out: Path) -> ExportManifest:
    """The manifest of an export folder."""
    path = out / MANIFEST_NAME
    try:
        return ExportManifest.model_validate(read_json(path))
    except ValueError as exc:
        raise DataError(f"{path}: not a taskforge export manifest ({exc})") from exc
