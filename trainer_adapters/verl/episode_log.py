"""The agent loop's own JSONL: whole episodes, one line each (no verl import).

Lines go to ``<root>/step-<N>/<host>-<pid>.jsonl`` (``val-step-<N>`` for validation rows,
``step-unknown`` when the trainer gives no step): one file per step and worker process, each
line written whole and flushed, so many agent-loop workers can write side by side and
``taskforge ingest verl`` can read a step's files while later steps are still being written.
"""

from __future__ import annotations

import os
import socket
import threading
from pathlib import Path
from typing import IO

from taskforge.contracts import VerlEpisode
from taskforge.contracts.verl import episode_folder

_lock = threading.Lock()
_handles: dict[Path, IO[bytes]] = {}


def shard_path(root: Path, split: str, step: int | None) -> Path:
    """This process's file for one step."""
    return root / episode_folder(split, step) / f"{socket.gethostname()}-{os.getpid()}.jsonl"


def write_episode(root: Path, record: VerlEpisode) -> Path:
    """Append one episode; returns the file written."""
    path = shard_path(root, record.split, record.step)
    line = record.model_dump_json(exclude_none=True).encode() + b"\n"
    with _lock:
        handle = _handles.get(path)
        if handle is None:
            path.parent.mkdir(parents=True, exist_ok=True)
            handle = _handles[path] = path.open("ab")
        handle.write(line)
        handle.flush()
    return path


def close_all() -> None:
    """Close this process's open episode files."""
    with _lock:
        for handle in _handles.values():
            handle.close()
        _handles.clear()
