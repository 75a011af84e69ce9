"""What every exporter shares: pairing tasks with pool entries, unique ids, splits, the DB
file, and writing the export folder all at once."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from taskforge.contracts import ExportManifest, PoolEntry, Task, TaskPool
from taskforge.env.db import Database
from taskforge.errors import DataError
from taskforge.export.manifest import MANIFEST_NAME
from taskforge.warehouse.rows import task_uid

Pair = tuple[PoolEntry, Task]


@dataclass
class ExportResult:
    """What an export wrote."""

    out: Path
    manifest: ExportManifest

    def summary(self) -> dict[str, Any]:
        """JSON-ready: folder, tasks per split, files, bytes."""
        sizes = {f: (self.out / f).stat().st_size for f in self.manifest.files}
        return {
            "out": str(self.out),
            "exporter": self.manifest.exporter,
            "pool": self.manifest.pool.name,
            "round": self.manifest.pool.round,
            "mode": self.manifest.pool.mode,
            "n_tasks": len(self.manifest.pool.active()),
            "splits": self.manifest.extra.get("split_counts"),
            "files": sorted(self.manifest.files),
            "bytes": sum(sizes.values()),
        }


def pair_tasks(pool: TaskPool, tasks: Sequence[Task]) -> list[Pair]:
    """The pool's active entries, each with its task (matched by content key), in entry order.

    Task ids that several different tasks share (rounds that reused an id) get the first 8
    hex digits of their content key appended, so every exported id is unique.
    """
    by_uid = {task_uid(t, pool.domain): t for t in tasks}
    pairs = []
    for entry in pool.active():
        if entry.task_uid not in by_uid:
            raise DataError(
                f"pool {pool.name!r}: task {entry.task_id!r} ({entry.task_uid}) missing"
            )
        pairs.append((entry, by_uid[entry.task_uid]))
    if not pairs:
        raise DataError(f"pool {pool.name!r} round {pool.round}: no active tasks to export")
    shared = {i for i, n in Counter(t.id for _, t in pairs).items() if n > 1}
    return [
        (e, t.model_copy(update={"id": f"{t.id}-{e.task_uid.split('-')[-1][:8]}"}))
        if t.id in shared
        else (e, t)
        for e, t in pairs
    ]


def export_db(db_path: Path | None, domain: str, tasks: Sequence[Task]) -> Database:
    """The DB to export ``tasks`` with: ``db_path``, else the one their certificates name.

    Without ``db_path``, the bundled DB is used when the certified tasks were certified on it
    (or none is certified). When they all name one other DB, the file their certificates
    recorded is used if its content still has that hash; otherwise the error names the file
    to pass. Tasks certified on several DBs are left to :func:`check_db`.

    Raises:
        DataError: the certificates' DB cannot be found (one line, with the file to pass).
    """
    from taskforge.domains import get_domain

    dom = get_domain(domain)
    if db_path is not None:
        return dom.load_db(db_path)
    certified = {t.certificate.db_hash: t.certificate.db_source for t in tasks if t.certificate}
    bundled = dom.load_db(None) if dom.default_db_path is not None else None
    if len(certified) != 1 or (bundled is not None and bundled.hash in certified):
        return bundled if bundled is not None else dom.load_db(None)
    ((wanted, source),) = certified.items()
    if source is not None and Path(source).is_file():
        found = dom.load_db(Path(source))
        if found.hash == wanted:
            return found
    where = f"--db {source}" if source else "--db with the DB they were synthesized on"
    raise DataError(
        f"the tasks were certified on DB {wanted[:16]}"
        + (f" ({source}, which now differs or is gone)" if source else "")
        + f", not the bundled one: pass {where}"
    )


def check_db(pairs: Sequence[Pair], db: Database) -> None:
    """Every certified task must have been certified on this DB (else its gold actions would
    not replay here)."""
    for _, task in pairs:
        cert = task.certificate
        if cert is not None and cert.db_hash != db.hash:
            raise DataError(
                f"task {task.id!r}: certified on DB {cert.db_hash}, the export DB is {db.hash}; "
                "pass the DB the tasks were made on (--db)"
            )


_SPLIT_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


def parse_splits(specs: Sequence[str]) -> dict[str, float]:
    """``["train=0.9", "validation=0.1"]`` -> {"train": 0.9, "validation": 0.1}, checked."""
    out: dict[str, float] = {}
    for spec in specs:
        name, sep, value = spec.partition("=")
        try:
            out[name.strip()] = float(value)
        except ValueError:
            sep = ""
        if not sep:
            raise DataError(f"--split {spec!r}: expected NAME=FRACTION, e.g. train=0.9")
    return check_splits(out)


def check_splits(splits: Mapping[str, float]) -> dict[str, float]:
    """Split names are identifiers, fractions are positive and sum to 1."""
    for name, frac in splits.items():
        if not _SPLIT_NAME.match(name) or frac <= 0:
            raise DataError(f"split {name}={frac}: need a name like 'train' and a fraction > 0")
    if not splits or abs(sum(splits.values()) - 1.0) > 1e-6:
        raise DataError(f"split fractions must sum to 1, got {dict(splits)}")
    return dict(splits)


def split_of(uid: str, splits: Mapping[str, float], seed: int) -> str:
    """The split of one task: a function of its content key and the seed only, so a task
    keeps its split as the pool grows over rounds (no train/test leakage across rounds)."""
    digest = hashlib.sha256(f"{seed}\x00{uid}".encode()).hexdigest()
    u = int(digest[:16], 16) / 16**16
    edge = 0.0
    names = list(splits)
    for name in names:
        edge += splits[name]
        if u < edge:
            return name
    return names[-1]


def assign_splits(
    pairs: Sequence[Pair], splits: Mapping[str, float], seed: int
) -> dict[str, list[Pair]]:
    """Pairs per split, in the order of ``splits`` (empty splits included)."""
    out: dict[str, list[Pair]] = {name: [] for name in splits}
    for pair in pairs:
        out[split_of(pair[0].task_uid, splits, seed)].append(pair)
    return out


def tau2_json(data: Any) -> str:
    """Indented JSON (UTF-8 kept, key order kept) for tau2-style data files."""
    return orjson.dumps(data, option=orjson.OPT_INDENT_2).decode() + "\n"


def write_db(path: Path, db: Database) -> None:
    """The DB in the domain's JSON format."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(tau2_json(db.to_dict()), encoding="utf-8")


@contextmanager
def export_folder(out: Path) -> Iterator[Path]:
    """A fresh staging folder that replaces ``out`` when the block succeeds.

    ``out`` may be absent, empty, or an earlier taskforge export (stale files go with it);
    anything else is refused rather than overwritten.
    """
    if out.exists() and any(out.iterdir()) and not (out / MANIFEST_NAME).exists():
        raise DataError(f"{out}: not empty and not a taskforge export; choose another --out")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}."))
    try:
        yield tmp
        os.chmod(tmp, 0o755)
        old = out.parent / f"{tmp.name}.old"
        if out.exists():
            out.rename(old)
        tmp.rename(out)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
