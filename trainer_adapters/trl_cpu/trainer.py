"""The CPU trainer behind the loop's trainer protocol (``trainer: trl-cpu``).

GRPO with TRL on a small local model (default: the bundled SmolLM2-135M-Instruct GGUF),
single-turn: each usable pool task becomes one prompt (:mod:`.prompts`) whose completion is
one JSON tool call, scored by the RewardSpec (:mod:`.reward`). Usable tasks are those one
stated write completes (:func:`.tasks.select_easy`) and whose gold reply fits the completion
budget; the rest of the pool cannot be solved in one turn and is left out (the count is
reported). RAFT rounds start from ``training.model`` every round; on-policy rounds continue
from the previous round's checkpoint.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from taskforge.contracts import Task
from taskforge.contracts.loop import TrainingSettings
from taskforge.domains import get_domain
from taskforge.env.db import Database
from taskforge.errors import DataError, TaskforgeError
from taskforge.loop.trainer import TrainRequest, TrainResult
from trainer_adapters.trl_cpu.checkpoint import prepare_base, prepared_info, resolve_model
from trainer_adapters.trl_cpu.evaluate import Sampling, evaluate_policy
from trainer_adapters.trl_cpu.prompts import Prompt, PromptBuilder
from trainer_adapters.trl_cpu.reward import TaskReward
from trainer_adapters.trl_cpu.tasks import easy_task_sets, select_easy, within_budget
from trainer_adapters.trl_cpu.train import (
    DEFAULT_LEARNING_RATE,
    GRPOOptions,
    GRPOResult,
    RunInfo,
    run_grpo,
)

if TYPE_CHECKING:
    from taskforge.contracts.loop import LoopConfig


def grpo_options(settings: TrainingSettings, seed: int, steps: int | None = None) -> GRPOOptions:
    """The GRPO knobs from the loop's training settings (fields added later read with getattr).

    ``batch_size`` is the number of prompts per optimizer step, ``rollout_n`` the group size
    (at least 2), ``steps`` (or ``settings.steps``) the optimizer steps, else ``epochs``.
    """
    return GRPOOptions(
        steps=steps if steps is not None else getattr(settings, "steps", None),
        epochs=settings.epochs,
        num_generations=max(2, settings.rollout_n),
        prompts_per_step=settings.batch_size,
        max_completion_length=int(getattr(settings, "max_completion_tokens", 64) or 64),
        learning_rate=getattr(settings, "learning_rate", None) or DEFAULT_LEARNING_RATE,
        seed=seed,
    )


@dataclass
class TrainingSet:
    """The usable tasks of a pool, their prompts and the reward over them."""

    tasks: list[Task]
    prompts: list[Prompt]
    reward: TaskReward
    n_pool: int


def training_set(
    pool: Sequence[Task], db: Database, domain: str, spec: str, tokenizer: Any, max_tokens: int,
    seed: int,
) -> TrainingSet:  # fmt: skip
    """Keep the single-turn-solvable tasks of ``pool`` and build their prompts and reward
    (``tokenizer``: the trained model's, which measures the gold replies' length)."""
    usable = within_budget(select_easy(pool, db, domain, seed), domain, tokenizer, max_tokens)
    builder = PromptBuilder(db, domain, usable, seed=seed)
    prompts = [builder.build(t) for t in usable]
    openings = {p.task_id: p.opening for p in prompts}
    reward = TaskReward({t.id: t for t in usable}, openings, db, domain, spec)
    return TrainingSet(usable, prompts, reward, len(pool))


class TRLCPUTrainer:
    """GRPO with TRL on CPU on the round's tasks (it reads the tasks, not an export).

    Args:
        cache_dir: Where prepared base checkpoints are kept (default
            :func:`~.checkpoint.default_cache_dir`).
    """

    export: str | None = None

    def __init__(self, cache_dir: Path | None = None) -> None:
        self.cache_dir = cache_dir

    @classmethod
    def check(cls, config: LoopConfig) -> None:
        """GRPO needs groups of two or more; a given model must be a local file or folder."""
        if config.training.rollout_n < 2:
            raise ValueError("trainer trl-cpu needs training.rollout_n >= 2 (a GRPO group)")
        model = config.training.model
        if model is not None and not Path(model).expanduser().exists():
            raise ValueError(f"trainer trl-cpu: training.model {model} is not a local path")

    def train(self, request: TrainRequest) -> TrainResult:
        """Train one round (or, with ``dry_run``, only build and count the prompts)."""
        settings = request.settings
        db = get_domain(request.domain).load_db(request.db_path)
        model = _start_model(request)
        base = prepare_base(model, self.cache_dir)
        options = grpo_options(settings, request.seed)
        data = training_set(
            request.tasks, db, request.domain, request.reward_spec, _tokenizer(base),
            options.max_completion_length, request.seed,
        )  # fmt: skip
        details: dict[str, Any] = {
            "trainer": "trl-cpu", "base": str(base), "model": str(model or "smollm2-135m"),
            "n_pool": data.n_pool, "n_prompts": len(data.prompts),
            "n_skipped": data.n_pool - len(data.prompts),
        }  # fmt: skip
        if settings.dry_run:
            return TrainResult("dry-run", details=details)
        if not data.prompts:
            raise DataError(
                f"trl-cpu: none of the {data.n_pool} pool tasks is solvable in one turn "
                "(one write whose arguments the opening message states, within the token budget)"
            )
        run = RunInfo(
            run_id=_run_id(request, base, options), model=str(model or base),
            domain=request.domain, round=request.round,
            config={"mode": request.mode, "seed": request.seed, "steps": options.steps},
        )  # fmt: skip
        result = run_grpo(base, data.prompts, data.reward, request.run_dir, options, run)
        details.update(_result_details(result))
        policy = _policy_gguf(result.checkpoint, settings.model, request.run_dir, details)
        return TrainResult(
            "done",
            checkpoint=str(result.checkpoint),
            policy_model=policy,
            rollouts=[("jsonl", str(result.trajectories))],
            details=details,
        )

    def bench(
        self,
        n_train: int,
        n_eval: int,
        db_path: Path | None,
        domain: str,
        spec: str,
        steps: int,
        seed: int,
        run_dir: Path,
        settings: TrainingSettings,
        eval_temperature: float = 1.0,
        eval_trials: int = 4,
    ) -> dict[str, Any]:
        """Evaluate the base model, train ``steps`` steps, evaluate the checkpoint likewise.

        The tasks are easy generated ones (:func:`.tasks.easy_task_sets`): ``n_train`` to
        train on and ``n_eval`` others to evaluate on. Both evaluations use the same prompts
        (examples from the training tasks), the same sampling (``eval_trials`` completions
        per task at ``eval_temperature``; 0 is greedy) and the same seed per (task, trial).
        Returns ``{"before": {pass1, mean_reward},
        "after": {...}, "reward_per_step", "steps", "seconds", "model", "n_train", "n_eval",
        ...}``.
        """
        seconds: dict[str, float] = {}
        clock = time.perf_counter()
        db = get_domain(domain).load_db(db_path)
        base = prepare_base(settings.model, self.cache_dir)
        seconds["prepare_base"] = round(time.perf_counter() - clock, 2)
        options = grpo_options(settings, seed, steps)
        tokenizer = _tokenizer(base)
        budget = options.max_completion_length
        tasks_train, tasks_eval = easy_task_sets(
            db, domain, n_train, n_eval, seed,
            fits=lambda t: bool(within_budget([t], domain, tokenizer, budget)),
        )  # fmt: skip
        data = training_set(tasks_train, db, domain, spec, tokenizer, budget, seed)
        if not data.prompts or not tasks_eval:  # easy_task_sets kept only usable tasks
            raise DataError(
                f"trl-cpu bench: {len(data.prompts)} usable training and {len(tasks_eval)} "
                "usable evaluation tasks; both need at least one"
            )
        sampling = Sampling(options.max_completion_length, eval_temperature)

        def measure(model_dir: Path, key: str) -> dict[str, Any]:
            clock = time.perf_counter()
            out = evaluate_policy(
                model_dir, tasks_eval, db, domain, spec, seed, eval_trials, examples=data.tasks,
                sampling=sampling,
            )  # fmt: skip
            seconds[key] = round(time.perf_counter() - clock, 2)
            return out

        before = measure(base, "eval_before")
        run = RunInfo(f"trl-cpu-bench-{seed}", str(settings.model or base), domain)
        result = run_grpo(base, data.prompts, data.reward, run_dir, options, run)
        seconds["train"] = result.seconds
        after = measure(result.checkpoint, "eval_after")
        return _bench_report(before, after, result, data, tasks_eval, base, seconds, settings)


def _tokenizer(base: Path) -> Any:
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(base))


def _start_model(request: TrainRequest) -> str | None:
    """RAFT: ``training.model`` every round; on-policy: the previous checkpoint, if any."""
    if request.mode == "on-policy" and request.init_checkpoint:
        return request.init_checkpoint
    return request.settings.model


def _run_id(request: TrainRequest, base: Path, options: GRPOOptions) -> str:
    from taskforge.warehouse.keys import content_key

    tasks = sorted(t.id for t in request.tasks)
    knobs = [options.steps, options.num_generations, options.prompts_per_step, options.seed]
    return "trl-cpu-" + content_key("trl-cpu", request.round, str(base), tasks, knobs)[-16:]


def _result_details(result: GRPOResult) -> dict[str, Any]:
    return {
        "steps": result.steps,
        "reward_per_step": result.reward_per_step,
        "reward_std_per_step": result.reward_std_per_step,
        "success_per_step": result.success_per_step,
        "seconds_per_step": result.seconds_per_step,
        "seconds": result.seconds,
        "n_completions": result.n_scored,
        "peak_rss_mb": result.peak_rss_mb,
        "train_log": str(result.train_log),
    }


def _policy_gguf(
    checkpoint: Path, model: str | None, run_dir: Path, details: dict[str, Any]
) -> str | None:
    """The trained checkpoint as a GGUF file for the local server, when a GGUF template exists.

    The template is ``training.model`` when it is a GGUF file, else the bundled one; a failed
    export is reported in ``details["policy_model_error"]`` and training still counts.
    """
    from trainer_adapters.trl_cpu.gguf_export import export_gguf

    try:
        template = resolve_model(model if model and str(model).endswith(".gguf") else None)
        return str(export_gguf(checkpoint, template, run_dir / "policy.gguf", dtype="q8_0"))
    except TaskforgeError as exc:
        details["policy_model_error"] = str(exc)
        return None


def _bench_report(
    before: dict[str, Any], after: dict[str, Any], result: GRPOResult, data: TrainingSet,
    evals: Sequence[Task], base: Path, seconds: dict[str, float], settings: TrainingSettings,
) -> dict[str, Any]:  # fmt: skip
    def summary(out: dict[str, Any]) -> dict[str, Any]:
        return {k: out[k] for k in ("pass1", "mean_reward", "n")} | {"rows": out["rows"]}

    return {
        "before": summary(before),
        "after": summary(after),
        "reward_per_step": result.reward_per_step,
        "success_per_step": result.success_per_step,
        "seconds_per_step": result.seconds_per_step,
        "steps": result.steps,
        "seconds": seconds,
        "peak_rss_mb": result.peak_rss_mb,
        "model": str(settings.model or "smollm2-135m (bundled GGUF)"),
        "base": str(base),
        "base_prepare_seconds": prepared_info(base).get("seconds"),
        "n_train": len(data.tasks),
        "n_eval": len(evals),
        "checkpoint": str(result.checkpoint),
        "trajectories": str(result.trajectories),
    }
