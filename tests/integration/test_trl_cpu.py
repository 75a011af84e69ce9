"""A real GRPO step on CPU: TRL trains SmolLM2-135M on an easy task, the RewardSpec as reward.

The bundled GGUF is converted once to a plain checkpoint, trained one optimizer step (one
prompt, a group of two short completions), and the saved checkpoint must differ from the
base and load back; the step's completions land in the warehouse through ``ingest jsonl``.
The trainer behind the loop's protocol is run the same way, and its policy file is a GGUF
that llama.cpp loads.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest

from taskforge.contracts import Task
from taskforge.contracts.loop import TrainingSettings
from taskforge.domains import get_domain
from taskforge.env.db import Database
from taskforge.loop.trainer import TrainRequest, load_trainer

NEEDED = ("torch", "trl", "transformers", "gguf", "llama_cpp")
MISSING = [name for name in NEEDED if importlib.util.find_spec(name) is None]
pytestmark = pytest.mark.skipif(
    bool(MISSING), reason=f"the CPU trainer needs {', '.join(MISSING)} (the local extra)"
)


def rank_bonus(completions: list[Any], **_: Any) -> list[float]:
    """A second reward that differs within every group (by position), so the step's advantage
    is never zero, whatever the completions are."""
    return [0.1 * i for i in range(len(completions))]


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from taskforge.llm.local import LocalModelError
    from trainer_adapters.trl_cpu.checkpoint import prepare_base

    try:
        return prepare_base(None, tmp_path_factory.mktemp("trl-cache"))
    except LocalModelError as exc:
        pytest.skip(str(exc))


@pytest.fixture(scope="module")
def db() -> Database:
    return get_domain("retail").load_db()


@pytest.fixture(scope="module")
def tasks(db: Database) -> list[Task]:
    from trainer_adapters.trl_cpu.tasks import easy_tasks

    return easy_tasks(db, "retail", n=3, seed=0)


def first_weight(folder: Path) -> Any:
    from safetensors.torch import load_file

    tensors = load_file(str(next(folder.glob("*.safetensors"))))
    return tensors["model.layers.0.self_attn.q_proj.weight"]


def test_one_grpo_step_changes_the_weights_and_reloads(
    base: Path, db: Database, tasks: list[Task], tmp_path: Path
) -> None:
    import torch
    from transformers import AutoModelForCausalLM

    from taskforge.warehouse import Warehouse, get_adapter, ingest_paths
    from trainer_adapters.trl_cpu.prompts import PromptBuilder
    from trainer_adapters.trl_cpu.reward import TaskReward
    from trainer_adapters.trl_cpu.train import GRPOOptions, RunInfo, run_grpo

    builder = PromptBuilder(db, "retail", tasks, n_examples=1, n_extra_tools=0)
    prompt = builder.build(tasks[0])
    reward = TaskReward({tasks[0].id: tasks[0]}, {tasks[0].id: prompt.opening}, db)
    options = GRPOOptions(
        steps=1, num_generations=2, prompts_per_step=1, max_completion_length=12,
        learning_rate=1e-4, extra_rewards=[rank_bonus],
    )  # fmt: skip
    result = run_grpo(base, [prompt], reward, tmp_path, options, RunInfo("trl-test", "smollm2"))
    assert result.steps == 1 and result.n_scored == 2
    assert not torch.equal(first_weight(base), first_weight(result.checkpoint))
    reloaded = AutoModelForCausalLM.from_pretrained(str(result.checkpoint))
    assert reloaded.config.num_hidden_layers == 30
    assert [r["n_completions"] for r in _lines(result.train_log)] == [2]
    ingest_paths(tmp_path / "wh.duckdb", get_adapter("jsonl"), [result.trajectories])
    with Warehouse.open(tmp_path / "wh.duckdb", read_only=True) as wh:
        rows = wh.query("SELECT count(*) AS n FROM trajectories WHERE run_id = 'trl-test'")
    assert rows["n"].to_list() == [2]


def test_trainer_trains_a_round_and_exports_a_servable_policy(
    base: Path, db: Database, tasks: list[Task], tmp_path: Path
) -> None:
    import llama_cpp

    trainer = load_trainer("trl-cpu")(cache_dir=base.parent)
    settings = TrainingSettings(
        model=None, rollout_n=2, batch_size=1, steps=1, max_completion_tokens=48
    )
    db_path = get_domain("retail").default_db_path
    assert db_path is not None
    request = TrainRequest(
        round=1, mode="raft", tasks=tasks, db_path=db_path,
        domain="retail", reward_spec="raft", settings=settings, run_dir=tmp_path / "train",
    )  # fmt: skip
    dry = trainer.train(_with(request, dry_run=True))
    assert dry.status == "dry-run" and dry.details["n_prompts"] >= 1
    result = trainer.train(request)
    assert result.status == "done" and result.details["steps"] == 1
    shard = tmp_path / "train" / "rollouts" / "trajectories.jsonl"
    assert result.rollouts == [("jsonl", str(shard))]
    assert result.policy_model is not None, result.details.get("policy_model_error")
    llm = llama_cpp.Llama(model_path=result.policy_model, n_ctx=128, verbose=False)
    assert llm.n_vocab() == 49152
    llm.close()


def _with(request: TrainRequest, **settings: Any) -> TrainRequest:
    from dataclasses import replace

    return replace(request, settings=request.settings.model_copy(update=settings))


def _lines(path: Path) -> list[dict[str, Any]]:
    import json

    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
