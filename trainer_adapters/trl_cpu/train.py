"""GRPO on CPU with TRL's ``GRPOTrainer``: the tasks' prompts, the RewardSpec as the reward.

:func:`run_grpo` trains a Hugging Face checkpoint folder for a few optimizer steps and writes,
under ``run_dir``:

- ``checkpoint/``: the trained model and tokenizer (``save_pretrained``);
- ``train_log.jsonl``: one line per optimizer step (step, mean and std of the reward, task
  success rate, loss, seconds);
- ``rollouts/trajectories.jsonl``: every scored generation as a taskforge trajectory (one
  run line, the tasks, then the trajectories), a shard ``taskforge ingest jsonl`` reads.

Each optimizer step samples ``num_generations`` completions for each of ``prompts_per_step``
prompts; the completions of one prompt make one GRPO group (one micro-batch: gradient
accumulation over the prompts keeps memory at one group). ``beta = 0``: no KL term, so no
reference model is loaded. A step whose group rewards are all equal has zero advantage and
does not move the weights.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import math
import os
import resource
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from taskforge.contracts import Run, Task, Trajectory
from taskforge.mining.embed import quiet_transformers
from trainer_adapters.trl_cpu.prompts import Prompt, render
from trainer_adapters.trl_cpu.reward import TERMINATION, Scored, TaskReward

DEFAULT_LEARNING_RATE = 1e-5
"""AdamW learning rate when none is given."""

RewardFunc = Callable[..., list[float]]


@dataclass
class GRPOOptions:
    """The knobs of one GRPO run.

    Attributes:
        steps: Optimizer steps (None: ``epochs`` passes over the prompts).
        epochs: Passes over the prompts when ``steps`` is None.
        num_generations: Completions per prompt (the GRPO group, >= 2).
        prompts_per_step: Prompts per optimizer step.
        max_completion_length: Most tokens per completion.
        learning_rate: AdamW learning rate.
        temperature: Sampling temperature of the generations.
        seed: Seed of the trainer (sampling, shuffling).
        extra_rewards: Further TRL reward functions, summed with the task reward (tests).
        threads: torch CPU threads (None: ``$TASKFORGE_TORCH_THREADS``, else torch's default).
    """

    steps: int | None = 4
    epochs: int = 1
    num_generations: int = 4
    prompts_per_step: int = 2
    max_completion_length: int = 64
    learning_rate: float = DEFAULT_LEARNING_RATE
    temperature: float = 1.0
    seed: int = 0
    extra_rewards: list[RewardFunc] = field(default_factory=list)
    threads: int | None = None


THREADS_ENV = "TASKFORGE_TORCH_THREADS"


def set_threads(threads: int | None = None) -> int:
    """Set torch's CPU thread count (``threads``, else ``$TASKFORGE_TORCH_THREADS``); return it.

    On a machine whose cores are busy with other work, one thread can be several times faster
    than two: every parallel region waits for its slowest thread.
    """
    import torch

    wanted = threads or int(os.environ.get(THREADS_ENV) or 0)
    if wanted > 0:
        torch.set_num_threads(wanted)
    return int(torch.get_num_threads())


@dataclass
class RunInfo:
    """Provenance of the rollouts file: who trained what, in which loop round."""

    run_id: str
    model: str
    domain: str = "retail"
    round: int | None = None
    config: dict[str, Any] = field(default_factory=dict)


@dataclass
class GRPOResult:
    """What one GRPO run produced (paths under ``run_dir``) and how it went."""

    checkpoint: Path
    train_log: Path
    trajectories: Path
    steps: int
    reward_per_step: list[float]
    reward_std_per_step: list[float]
    success_per_step: list[float]
    seconds_per_step: list[float]
    seconds: float
    n_scored: int
    peak_rss_mb: float


def run_grpo(
    base: Path,
    prompts: Sequence[Prompt],
    reward: TaskReward,
    run_dir: Path,
    options: GRPOOptions,
    run: RunInfo,
) -> GRPOResult:
    """Train ``base`` with GRPO on ``prompts``; save the checkpoint, the log and the rollouts.

    Args:
        base: A Hugging Face checkpoint folder (see :func:`~.checkpoint.prepare_base`).
        prompts: One prompt per training task (their tasks are in ``reward.tasks``).
        reward: The task reward (it records every completion it scores).
        run_dir: Output folder.
        options: Steps, group size, lengths, learning rate, seed.
        run: Provenance of the rollouts file.

    Returns:
        The paths written and the per-step rewards and timings.
    """
    from transformers import AutoTokenizer

    run_dir.mkdir(parents=True, exist_ok=True)
    set_threads(options.threads)
    tokenizer = AutoTokenizer.from_pretrained(str(base))
    log = _StepLog(run_dir / "train_log.jsonl", reward)
    trainer = _trainer(base, tokenizer, prompts, reward, run_dir, options, log)
    start = time.perf_counter()
    with contextlib.redirect_stdout(sys.stderr):  # TRL prints its log dicts; keep stdout clean
        trainer.train()
    seconds = time.perf_counter() - start
    checkpoint = run_dir / "checkpoint"
    trainer.save_model(str(checkpoint))
    tokenizer.save_pretrained(str(checkpoint))
    tasks = [reward.tasks[p.task_id] for p in prompts]
    shard = write_rollouts(run_dir / "rollouts" / "trajectories.jsonl", reward.records, tasks, run)
    return GRPOResult(
        checkpoint=checkpoint,
        train_log=log.path,
        trajectories=shard,
        steps=int(trainer.state.global_step),
        reward_per_step=[r["reward_mean"] for r in log.rows],
        reward_std_per_step=[r["reward_std"] for r in log.rows],
        success_per_step=[r["success_rate"] for r in log.rows],
        seconds_per_step=[r["seconds"] for r in log.rows],
        seconds=round(seconds, 2),
        n_scored=len(reward.records),
        peak_rss_mb=peak_rss_mb(),
    )


def _trainer(
    base: Path,
    tokenizer: Any,
    prompts: Sequence[Prompt],
    reward: TaskReward,
    run_dir: Path,
    options: GRPOOptions,
    log: _StepLog,
) -> Any:
    """TRL's GRPOTrainer over the rendered prompts (the dataset keeps each task id)."""
    from transformers import AutoModelForCausalLM
    from trl import GRPOTrainer

    # by name: the repository's own datasets/ data folder shadows the package for mypy
    dataset_cls = importlib.import_module("datasets").Dataset
    rows = [{"prompt": render(p), "task_id": p.task_id} for p in prompts]
    funcs: list[Any] = [reward, *options.extra_rewards]
    with quiet_transformers():
        model = AutoModelForCausalLM.from_pretrained(str(base), dtype="float32")
    return GRPOTrainer(
        model=model,
        reward_funcs=funcs,
        args=grpo_config(run_dir / "trl", options, len(prompts)),
        train_dataset=dataset_cls.from_list(rows),
        processing_class=tokenizer,
        callbacks=[log.callback()],
    )


def grpo_config(output_dir: Path, options: GRPOOptions, n_prompts: int) -> Any:
    """The ``GRPOConfig`` of a CPU run (no vLLM, fp32, beta 0, no checkpoints, no reporting)."""
    from trl import GRPOConfig

    per_step = max(1, min(options.prompts_per_step, n_prompts))
    return GRPOConfig(
        output_dir=str(output_dir),
        use_cpu=True,
        use_vllm=False,
        bf16=False,
        fp16=False,
        beta=0.0,
        num_generations=options.num_generations,
        per_device_train_batch_size=options.num_generations,
        gradient_accumulation_steps=per_step,
        max_completion_length=options.max_completion_length,
        temperature=options.temperature,
        learning_rate=options.learning_rate,
        max_steps=options.steps if options.steps is not None else -1,
        num_train_epochs=options.epochs,
        seed=options.seed,
        data_seed=options.seed,
        logging_steps=1,
        report_to=[],
        save_strategy="no",
        dataloader_num_workers=0,
        remove_unused_columns=False,
        disable_tqdm=False,
    )


class _StepLog:
    """Writes ``train_log.jsonl`` as TRL logs each step (rewards from the task reward)."""

    def __init__(self, path: Path, reward: TaskReward) -> None:
        self.path = path
        self.reward = reward
        self.rows: list[dict[str, Any]] = []
        self._started = time.perf_counter()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("", encoding="utf-8")

    def callback(self) -> Any:
        """A transformers ``TrainerCallback`` that times steps and writes a line per step."""
        from transformers import TrainerCallback

        log = self

        class _Callback(TrainerCallback):
            def on_train_begin(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
                log._started = time.perf_counter()

            def on_log(
                self, args: Any, state: Any, control: Any, logs: Any = None, **kw: Any
            ) -> None:
                if logs is not None and "loss" in logs:
                    log.step(int(state.global_step), dict(logs))

        return _Callback()

    def step(self, step: int, logs: dict[str, Any]) -> None:
        """Append the line of optimizer step ``step`` (its completions were scored at step-1)."""
        scored = [s for at, s in self.reward.records if at == step - 1]
        scores = [s.score for s in scored]
        mean = sum(scores) / len(scores) if scores else 0.0
        std = math.sqrt(sum((x - mean) ** 2 for x in scores) / len(scores)) if scores else 0.0
        row = {
            "step": step,
            "reward_mean": round(mean, 4),
            "reward_std": round(std, 4),
            "success_rate": round(sum(s.success for s in scored) / max(1, len(scored)), 4),
            "n_completions": len(scored),
            "loss": logs.get("loss"),
            "seconds": round(time.perf_counter() - self._started, 2),
        }
        self.rows.append(row)
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(row) + "\n")
        self._started = time.perf_counter()


def write_rollouts(
    path: Path, records: Sequence[tuple[int, Scored]], tasks: Sequence[Task], run: RunInfo
) -> Path:
    """Every scored completion as a trajectory in one taskforge JSONL shard.

    Trajectory ids are ``<run_id>:<step>:<n>``; ``trial`` numbers a task's completions in order;
    ``info`` has the optimizer step (1-based) and the RewardSpec score, which the report charts.
    """
    from taskforge.warehouse.shards import ShardWriter

    now = datetime.now(timezone.utc).isoformat()
    meta = Run(
        run_id=run.run_id, source="trl-cpu", agent_model=run.model, user_model="scripted",
        domain=run.domain, round=run.round, created_at=now, config=run.config,
    )  # fmt: skip
    trials: dict[str, int] = {}
    with ShardWriter(path) as shard:
        shard.run(meta)
        for task in {t.id: t for t in tasks}.values():
            shard.task(run.run_id, task)
        for index, (step, scored) in enumerate(records):
            trial = trials[scored.task_id] = trials.get(scored.task_id, -1) + 1
            shard.trajectory(run.run_id, _trajectory(run.run_id, index, step, trial, scored))
    return path


def _trajectory(run_id: str, index: int, step: int, trial: int, scored: Scored) -> Trajectory:
    return Trajectory(
        id=f"{run_id}:{step}:{index}",
        task_id=scored.task_id,
        trial=trial,
        termination_reason=TERMINATION,
        messages=scored.messages,
        reward_info=scored.reward_info,
        info={
            "trainer": "trl-cpu",
            "step": step + 1,  # the optimizer step this completion was sampled for (1-based)
            "completion": scored.text,
            "score": scored.score,
            "spec": scored.breakdown.spec_name,
            "components": {c.name: c.contribution for c in scored.breakdown.components},
        },
    )


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MiB (Linux reports KiB)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
