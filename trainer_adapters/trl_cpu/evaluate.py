"""pass^1 of a checkpoint on a fixed task set: the training prompt, the training reward.

Every (task, trial) gets one completion from transformers' ``generate`` on the same rendered
prompt TRL trains on, sampled with a fixed torch seed per (task, trial) (or greedy with
``temperature=0``), so a checkpoint before and after training is measured on the same draws.
The completion is scored by :class:`~.reward.TaskReward`; pass^1 is the fraction of
completions with task success 1.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from taskforge.contracts import Task
from taskforge.contracts.rewardspec import RewardSpec
from taskforge.env.db import Database
from taskforge.mining.embed import quiet_transformers
from taskforge.rollout.runner import episode_seed
from trainer_adapters.trl_cpu.prompts import PromptBuilder, render
from trainer_adapters.trl_cpu.reward import TaskReward
from trainer_adapters.trl_cpu.train import set_threads


@dataclass(frozen=True)
class Sampling:
    """How completions are drawn: ``temperature`` 0 means greedy."""

    max_new_tokens: int = 64
    temperature: float = 1.0


def evaluate_policy(
    model_dir: Path,
    tasks: Sequence[Task],
    db: Database,
    domain: str = "retail",
    spec: RewardSpec | str = "raft",
    seed: int = 0,
    trials: int = 1,
    *,
    examples: Sequence[Task] | None = None,
    sampling: Sampling | None = None,
    threads: int | None = None,
) -> dict[str, Any]:
    """Generate and score one completion per task and trial.

    Args:
        model_dir: A Hugging Face checkpoint folder.
        tasks: The evaluation tasks.
        db: Their initial DB.
        domain: Domain name.
        spec: RewardSpec (or preset name / file).
        seed: Seed of the openings, the examples and the per-(task, trial) sampling seeds.
        trials: Completions per task.
        examples: Tasks the prompts' examples come from (default: the other eval tasks).
        sampling: Lengths and temperature (default 64 tokens, temperature 1).
        threads: torch CPU threads (see :func:`~.train.set_threads`).

    Returns:
        ``{"pass1", "mean_reward", "n", "seconds", "rows": [{task_id, trial, score, success,
        completion}]}``.
    """
    sampling = sampling or Sampling()
    set_threads(threads)
    builder = PromptBuilder(db, domain, examples if examples is not None else tasks, seed=seed)
    prompts = {t.id: builder.build(t) for t in tasks}
    reward = TaskReward(
        {t.id: t for t in tasks}, {p.task_id: p.opening for p in prompts.values()},
        db, domain, spec,
    )  # fmt: skip
    model, tokenizer = load_policy(model_dir)
    start = time.perf_counter()
    rows: list[dict[str, Any]] = []
    for task in tasks:
        text = render(prompts[task.id])
        for trial in range(trials):
            completion = generate(
                model, tokenizer, text, episode_seed(seed, task.id, trial), sampling
            )
            scored = reward.score(task.id, completion)
            rows.append(
                {"task_id": task.id, "trial": trial, "score": round(scored.score, 4),
                 "success": scored.success, "completion": completion}
            )  # fmt: skip
    n = len(rows)
    return {
        "pass1": sum(r["success"] for r in rows) / n if n else 0.0,
        "mean_reward": sum(r["score"] for r in rows) / n if n else 0.0,
        "n": n,
        "seconds": round(time.perf_counter() - start, 2),
        "rows": rows,
    }


def load_policy(model_dir: Path) -> tuple[Any, Any]:
    """Model (float32, eval mode) and tokenizer of a checkpoint folder."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    with quiet_transformers():
        model = AutoModelForCausalLM.from_pretrained(str(model_dir), dtype="float32")
    model.eval()
    return model, tokenizer


def generate(model: Any, tokenizer: Any, text: str, seed: int, sampling: Sampling) -> str:
    """One completion of ``text`` (tokenized as TRL tokenizes a text prompt)."""
    import torch

    inputs = tokenizer(text=[text], return_tensors="pt")
    torch.manual_seed(seed)
    greedy = sampling.temperature <= 0
    with torch.no_grad():
        output = model.generate(
            **inputs,
            max_new_tokens=sampling.max_new_tokens,
            do_sample=not greedy,
            temperature=None if greedy else sampling.temperature,
            top_p=None if greedy else 1.0,
            top_k=None if greedy else 0,
            pad_token_id=tokenizer.pad_token_id,
        )
    new = output[0, inputs["input_ids"].shape[1] :]
    completion: str = tokenizer.decode(new, skip_special_tokens=True)
    return completion
