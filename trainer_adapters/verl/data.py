"""Task pool -> verl parquet rows, train and validation splits (pyarrow; no verl import).

One row per task, in the columns verl's ``RLHFDataset`` and agent loops read:

* ``prompt``: the agent's system prompt (with the domain policy), tau2's fixed greeting, and
  the user's first message (played by the user simulator when the pool is exported);
* ``data_source``, ``ability``, ``agent_name`` (the taskforge agent loop);
* ``reward_model.ground_truth``: the task id;
* ``extra_info``: ``index``, ``split``, ``task_id``, ``tools_kwargs`` (one entry per tool),
  the task and its DB as JSON strings (or the DB's path, see ``db_mode``), the DB's hash,
  the domain and the user simulator's seed.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from taskforge.contracts import Message, Task
from taskforge.domains import Domain
from taskforge.env.db import Database
from taskforge.rollout.prompts import GREETING, agent_system_prompt
from taskforge.rollout.runner import episode_seed
from trainer_adapters.verl.inputs import (
    ABILITY,
    AGENT_NAME,
    KEY_DB,
    KEY_DB_HASH,
    KEY_DB_PATH,
    KEY_DOMAIN,
    KEY_SEED,
    KEY_SPLIT,
    KEY_TASK,
    KEY_TASK_ID,
    data_source,
)
from trainer_adapters.verl.user import UserSimulator

DbMode = Literal["inline", "file"]
SPLITS = ("train", "val")


@dataclass
class RowOptions:
    """How rows are made."""

    seed: int = 0
    """Seed of the user simulator (per task, as the episodes that continue the dialogue)."""
    db_mode: DbMode = "inline"
    db_file: Path | None = None
    """For ``db_mode="file"``: where the DB file will be read from at training time."""


async def _openings(
    tasks: list[Task], db: Database, user: UserSimulator, seed: int, concurrency: int
) -> dict[str, str]:
    gate = asyncio.Semaphore(concurrency)

    async def one(task: Task) -> tuple[str, str]:
        episode = f"export:{task.id}"
        user_seed = episode_seed(seed, task.id, 0)
        async with gate:
            UserSimulator.begin(episode, task, db, user_seed)
            try:
                greeting = [Message(role="assistant", content=GREETING)]
                turn = await user.reply(episode, task, greeting, user_seed)
            finally:
                UserSimulator.end(episode)
        return task.id, turn.text

    return dict(await asyncio.gather(*(one(t) for t in tasks)))


def opening_messages(
    tasks: list[Task], db: Database, user: UserSimulator, seed: int = 0, concurrency: int = 16
) -> dict[str, str]:
    """The user's first message of every task (seeded like the episodes that continue it)."""
    return asyncio.run(_openings(tasks, db, user, seed, concurrency))


def prompt_messages(policy: str, first_user: str) -> list[dict[str, str]]:
    """The prompt of a row: system prompt with the policy, greeting, first user message."""
    return [
        {"role": "system", "content": agent_system_prompt(policy)},
        {"role": "assistant", "content": GREETING},
        {"role": "user", "content": first_user},
    ]


def make_rows(
    splits: dict[str, list[Task]],
    db: Database,
    domain: Domain,
    openings: dict[str, str],
    options: RowOptions,
) -> dict[str, list[dict[str, Any]]]:
    """Rows of each split (``train``, ``val``), in task order."""
    db_json = orjson.dumps(db.to_dict()).decode() if options.db_mode == "inline" else ""
    db_path = str(options.db_file.resolve()) if options.db_file is not None else ""
    tools_kwargs_of = _tools_kwargs(domain)
    policy = domain.policy
    out: dict[str, list[dict[str, Any]]] = {s: [] for s in SPLITS}
    for split, task in ((s, t) for s in SPLITS for t in splits.get(s, [])):
        extra = {
            "index": len(out[split]),
            KEY_SPLIT: split,
            KEY_TASK_ID: task.id,
            "tools_kwargs": tools_kwargs_of(task),
            KEY_TASK: orjson.dumps(task.to_json_dict()).decode(),
            KEY_DB: db_json,
            KEY_DB_PATH: db_path,
            KEY_DB_HASH: db.hash,
            KEY_DOMAIN: domain.name,
            KEY_SEED: episode_seed(options.seed, task.id, 0),
        }
        out[split].append(
            {
                "data_source": data_source(domain.name),
                "agent_name": AGENT_NAME,
                "prompt": prompt_messages(policy, openings[task.id]),
                "ability": ABILITY,
                "reward_model": {"style": "rule", "ground_truth": task.id},
                "extra_info": extra,
            }
        )
    return out


def _tools_kwargs(domain: Domain) -> Any:
    names = sorted(domain.toolkit_cls.specs)

    def of(task: Task) -> dict[str, Any]:
        return {name: {"create_kwargs": {"task_id": task.id}} for name in names}

    return of


def write_parquet(path: Path, rows: list[dict[str, Any]]) -> None:
    """Write rows atomically; repeated strings (the DB) are dictionary-encoded once per group."""
    table = pa.Table.from_pylist(rows)
    longest = max((len(r["extra_info"][KEY_DB]) for r in rows), default=0)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        pq.write_table(
            table,
            tmp,
            compression="zstd",
            dictionary_pagesize_limit=max(1 << 20, 2 * longest),
        )
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
