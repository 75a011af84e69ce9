"""What one parquet row tells an episode: the task, its DB, the user's seed (no verl import).

The writer (:mod:`trainer_adapters.verl.data`) and the readers (the agent loop and
``compute_score``) share these names, so the row format is defined in one place. The task and
the DB travel as JSON strings: nested structs in parquet are merged across rows (every row gets
the union of the keys, missing ones as nulls), which would corrupt tool arguments and records.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from taskforge.contracts import Task
from taskforge.domains import Domain, get_domain
from taskforge.env.db import Database
from taskforge.errors import DataError

AGENT_NAME = "taskforge_agent"
"""Name of the agent loop in the agent-loop YAML and in every row's ``agent_name``."""
ABILITY = "tool-use"
KEY_TASK, KEY_DB, KEY_DB_PATH, KEY_DB_HASH = "task", "db", "db_path", "db_hash"
KEY_DOMAIN, KEY_SEED, KEY_SPLIT, KEY_TASK_ID = "domain", "user_seed", "split", "task_id"
EPISODE_FIELD = "taskforge_episode"
"""``extra_fields`` key under which the agent loop hands the scored episode (JSON) to
``compute_score`` (verl merges a sample's extra fields into its ``extra_info``)."""
DB_CACHE_SIZE = 8

_lock = threading.Lock()
_dbs: OrderedDict[str, Database] = OrderedDict()


@dataclass
class EpisodeInputs:
    """One row's episode inputs."""

    task: Task
    db: Database
    domain: Domain
    user_seed: int
    split: str


def data_source(domain: str) -> str:
    """The rows' ``data_source``."""
    return f"taskforge/{domain}"


def _cached_db(domain: Domain, key: str, load: Any) -> Database:
    """The DB with content ``key``, parsed once per process (a few are kept)."""
    with _lock:
        if key in _dbs:
            _dbs.move_to_end(key)
            return _dbs[key]
    db: Database = load()
    with _lock:
        _dbs[key] = db
        while len(_dbs) > DB_CACHE_SIZE:
            _dbs.popitem(last=False)
    return db


def _db(extra: Mapping[str, Any], domain: Domain, where: str) -> Database:
    key = str(extra.get(KEY_DB_HASH) or "")
    inline = extra.get(KEY_DB)
    if inline:
        source = f"{where}: field extra_info.{KEY_DB}"
        return _cached_db(
            domain,
            key or str(hash(inline)),
            lambda: domain.database_cls.from_dict(orjson.loads(inline), source=source),
        )
    path = extra.get(KEY_DB_PATH)
    if not path:
        raise DataError(f"{where}: field extra_info.{KEY_DB}: no DB (neither inline nor a path)")
    return _cached_db(domain, key or str(path), lambda: domain.database_cls.load(Path(path)))


def episode_inputs(extra: Mapping[str, Any] | None, where: str = "verl row") -> EpisodeInputs:
    """Parse a row's ``extra_info`` (DataError naming the field when it is not ours)."""
    if not extra or KEY_TASK not in extra:
        raise DataError(
            f"{where}: field extra_info.{KEY_TASK}: missing (not a row written by "
            "`taskforge export verl`)"
        )
    try:
        task = Task.model_validate(orjson.loads(extra[KEY_TASK]))
    except (orjson.JSONDecodeError, ValueError) as exc:
        raise DataError(f"{where}: field extra_info.{KEY_TASK}: not a task ({exc})") from exc
    domain = get_domain(str(extra.get(KEY_DOMAIN) or "retail"))
    return EpisodeInputs(
        task=task,
        db=_db(extra, domain, where),
        domain=domain,
        user_seed=int(extra.get(KEY_SEED) or 0),
        split=str(extra.get(KEY_SPLIT) or "train"),
    )
