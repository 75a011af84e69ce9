"""Fixtures for the verl integration tests: an export of four seed tasks, their honest scripted
dialogues, a tokenizer trained on them and a tiny model folder (nothing is downloaded).
verl is imported inside the fixtures; the tests skip when it is not installed."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from taskforge.contracts import Message, Task
from taskforge.contracts.io import load_tasks
from taskforge.domains import get_domain
from taskforge.env.db import Database
from taskforge.export import ExportResult
from taskforge.llm import to_openai_messages
from taskforge.pool import pool_from_tasks
from taskforge.rollout.runner import episode_seed
from taskforge.rollout.scripted_loop import run_scripted_episode

sys.path.insert(0, str(Path(__file__).resolve().parent))
from verl_fakes import assistant_text, train_tokenizer, write_model_folder

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="session")
def tasks() -> list[Task]:
    """Four shipped seed tasks."""
    return load_tasks(REPO / "datasets" / "retail" / "seed_tasks.json")[:4]


@pytest.fixture(scope="session")
def db() -> Database:
    """The bundled DB."""
    return get_domain("retail").load_db()


@pytest.fixture(scope="session")
def dialogues(tasks: list[Task], db: Database) -> dict[str, list[Message]]:
    """Each task's honest episode: scripted policy (no error modes) vs scripted user."""
    toolkit = get_domain("retail").toolkit_cls
    out = {}
    for task in tasks:
        messages, fired, _ = run_scripted_episode(
            task, db, toolkit, {}, episode_seed(0, task.id, 0)
        )
        assert not fired
        out[task.id] = messages
    return out


@pytest.fixture(scope="session")
def scripts(dialogues: dict[str, list[Message]]) -> dict[str, list[str]]:
    """First user message -> the agent's turns as a Hermes model generates them."""
    return {
        m[1].content or "": [
            assistant_text(a) for a in to_openai_messages(m)[2:] if a["role"] == "assistant"
        ]
        for m in dialogues.values()
    }


@pytest.fixture(scope="session")
def spec_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A spec of its own (raft with half the task-success weight), so a test can tell that
    the export's spec, not compute_score's default, reached the reward function."""
    from taskforge.rewards import dump_spec, load_spec

    raft = load_spec("raft")
    components = [
        c.model_copy(update={"weight": c.weight / 2}) if c.key == "task_success" else c
        for c in raft.components
    ]
    half = raft.model_copy(update={"name": "raft-half", "components": components})
    path = tmp_path_factory.mktemp("spec") / "half.json"
    path.write_text(dump_spec(half, "json"))
    return path


@pytest.fixture(scope="session")
def export(
    tmp_path_factory: pytest.TempPathFactory, tasks: list[Task], db: Database, spec_file: Path
) -> ExportResult:
    """taskforge export verl of the four tasks (two train rows, two validation rows)."""
    from trainer_adapters.verl.export import VerlExportOptions, export_verl

    pool = pool_from_tasks("seeds", 1, tasks, "retail", mode="raft-union")
    out = tmp_path_factory.mktemp("export") / "pool"
    options = VerlExportOptions(spec=str(spec_file), val_fraction=0.25)
    return export_verl(pool, tasks, db, out, options)


@pytest.fixture(scope="session")
def model_dir(
    tmp_path_factory: pytest.TempPathFactory, dialogues: dict[str, list[Message]]
) -> Path:
    """A byte-level BPE tokenizer trained on the policy, the tools and the dialogues, saved with
    a Qwen2 config.json: what verl reads from a model path."""
    retail = get_domain("retail")
    corpus: list[Any] = [retail.policy, json.dumps(retail.toolkit_cls.openai_schemas())]
    for messages in dialogues.values():
        corpus += [m.content or "" for m in messages]
        corpus += [json.dumps(c.arguments) for m in messages for c in m.tool_calls or []]
    return write_model_folder(tmp_path_factory.mktemp("model"), train_tokenizer(corpus))
