"""Configuration of ``taskforge loop``: the cycle, round by round, as one YAML file."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from taskforge.contracts.base import SCHEMA_VERSION, Contract, versioned
from taskforge.contracts.pool import Curriculum

LoopMode = Literal["raft", "on-policy"]
ExportKind = Literal["hf", "tau2", "verl"]


class SynthesisSettings(Contract):
    """How many targeted tasks each round asks for."""

    n_per_pattern: int = Field(default=6, ge=1, description="Candidates per targeted family.")
    families: list[str] | None = Field(
        default=None,
        description="Families to synthesize every round; default: those of the mined patterns.",
    )
    embedder: str = Field(
        default="minilm", description="Embedder for near-duplicate scenarios (minilm|hashing)."
    )


class MiningSettings(Contract):
    """The mining stage's knobs."""

    judge: str = Field(default="diagnostic", description="diagnostic | llm.")
    embedder: str = Field(default="minilm", description="minilm | hashing.")
    labeler: str = Field(default="keywords", description="keywords | llm.")
    min_cluster_size: int = Field(default=2, ge=2, description="HDBSCAN min_cluster_size.")


ExecutorKind = Literal["local", "ray"]


class ExecutorSettings(Contract):
    """Where the rollout's episodes run: in this process, or fanned out on a Ray cluster."""

    kind: ExecutorKind = Field(
        default="local",
        description="local: every episode (and task to verify) in this process, the default; "
        "ray: chunks of episodes as Ray tasks, each writing its own shard, landed by this "
        "process, and chunks of tasks to verify as Ray tasks.",
    )
    address: str | None = Field(
        default=None,
        description="Ray cluster address (ray://host:10001, host:6379 or auto); None starts a "
        "local Ray cluster. Only with kind ray.",
    )
    num_workers: int = Field(
        default=0,
        ge=0,
        description="Ray tasks in flight at once; 0: one per CPU of the cluster.",
    )

    @model_validator(mode="after")
    def _address_needs_ray(self) -> ExecutorSettings:
        if self.address is not None and self.kind != "ray":
            raise ValueError(f"address is only for the ray executor, not {self.kind!r}")
        return self


class TrainingSettings(Contract):
    """The trainer's knobs (``trainer: verl`` on a GPU machine with vllm; ``trl-cpu`` here)."""

    model: str | None = Field(
        default=None,
        description="SFT checkpoint (path or hub id) every RAFT round starts from; trl-cpu: "
        "a GGUF file or HF folder, default the bundled SmolLM2-135M-Instruct.",
    )
    gpus: int = Field(default=8, ge=1, description="GPUs per node.")
    rollout_n: int = Field(default=8, ge=1, description="GRPO samples per prompt.")
    batch_size: int = Field(default=32, ge=1, description="Prompts per training batch.")
    epochs: int = Field(default=3, ge=1, description="Epochs over the round's pool.")
    steps: int | None = Field(
        default=None, ge=1, description="Stop after this many optimizer steps (None: epochs)."
    )
    learning_rate: float | None = Field(
        default=None, gt=0, description="Optimizer learning rate (None: the trainer's default)."
    )
    max_completion_tokens: int = Field(
        default=64, ge=1, description="Most tokens per sampled completion (trl-cpu)."
    )
    dry_run: bool = Field(
        default=False,
        description="Render the training command and check it against verl's config, "
        "without training (what a CPU machine can do).",
    )
    extra: list[str] = Field(default_factory=list, description="Further verl overrides.")


class LoopConfig(Contract):
    """Everything one ``taskforge loop`` run depends on; its hash keys the stage records."""

    model_config = versioned("LoopConfig")

    name: str = Field(default="taskforge-loop", description="Loop and task-pool name.")
    rounds: int = Field(default=2, ge=1, description="Rounds to run.")
    mode: LoopMode = Field(
        default="raft",
        description="raft: train each round from the SFT checkpoint on the union pool; "
        "on-policy: continue from the last checkpoint on the newest round's tasks.",
    )
    domain: str = Field(default="retail", description="Environment domain.")
    db: Path | None = Field(default=None, description="Task DB (default: the bundled one).")
    seed_tasks: Path | None = Field(
        default=None, description="Round-0 tasks (default: the bundled seed tasks)."
    )
    llm_config: Path | None = Field(
        default=None, description="LLM roles (default: the offline simulations)."
    )
    trials: int = Field(default=4, ge=1, description="Rollout trials per task.")
    concurrency: int = Field(default=4, ge=1, description="Concurrent rollout episodes.")
    max_steps: int = Field(
        default=200, ge=2, description="Messages per rollout episode before it is cut."
    )
    seed: int = Field(default=0, description="Seed of every sampled choice.")
    executor: ExecutorSettings = Field(
        default_factory=ExecutorSettings,
        description="Where rollout episodes and task verification run (not part of the "
        "loop's identity: the results are the same on every executor).",
    )
    mining: MiningSettings = Field(default_factory=MiningSettings, description="Mining.")
    synthesis: SynthesisSettings = Field(
        default_factory=SynthesisSettings, description="Targeted synthesis."
    )
    curriculum: Curriculum = Field(
        default_factory=Curriculum, description="Which pool tasks are offered each round."
    )
    reward_spec: str = Field(default="raft", description="Reward spec preset or file.")
    exports: list[ExportKind] = Field(
        default=["hf", "tau2", "verl"],
        description="Exports per round (verl: the adapter's parquet, configs and launch README).",
    )
    trainer: str = Field(
        default="none",
        description="none: no training (the policy is unchanged between rounds); verl: GRPO "
        "through trainer_adapters/verl on the round's verl export (GPU); trl-cpu: GRPO with "
        "TRL on CPU on the local model; or a package.module:Class trainer.",
    )
    training: TrainingSettings = Field(
        default_factory=TrainingSettings, description="Training settings of the trainer."
    )
    schema_version: str = Field(
        default=SCHEMA_VERSION, description="Version of the taskforge contracts."
    )

    @model_validator(mode="after")
    def _trainer_has_what_it_needs(self) -> LoopConfig:
        if self.trainer != "none":
            from taskforge.loop.trainer import check_trainer

            check_trainer(self)
        return self
