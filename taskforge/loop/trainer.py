"""The loop's trainer protocol: trainers are adapters found by name through the registry.

``taskforge/`` never imports ``trainer_adapters/``: the registry's ``trainer`` kind maps a name
(``verl``, ``trl-cpu``) to a dotted path, imported only when a loop asks for it. A third-party
trainer plugs in with a registry entry (or a ``module:Class`` path as ``trainer:``). Trainers'
exporters (the folder a trainer trains from) are found the same way, kind ``trainer_exporter``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

from taskforge.contracts import Task
from taskforge.contracts.loop import TrainingSettings

if TYPE_CHECKING:
    from taskforge.contracts.loop import LoopConfig

TrainStatus = Literal["done", "dry-run"]


@dataclass
class TrainRequest:
    """Everything one round's training needs.

    Attributes:
        round: The loop round (1-based).
        mode: ``raft`` (start from ``settings.model`` every round, union pool) or
            ``on-policy`` (continue from ``init_checkpoint``).
        tasks: The round's training pool (RAFT: the union so far).
        db_path: The tasks' initial DB.
        domain: Domain name (``taskforge.domains.get_domain``).
        reward_spec: RewardSpec preset name or file.
        settings: The loop config's training settings.
        run_dir: Folder for the trainer's files (checkpoints, logs, rollouts).
        seed: Seed of every sampled choice.
        exports: The round's exports by kind (e.g. ``{"verl": Path}``).
        init_checkpoint: On-policy rounds after the first: the previous round's checkpoint.
        llm_config: The loop's LLM config (the user simulator of multi-turn trainers).
        command: The command line that started the loop (provenance).
    """

    round: int
    mode: str
    tasks: list[Task]
    db_path: Path
    domain: str
    reward_spec: str
    settings: TrainingSettings
    run_dir: Path
    seed: int = 0
    exports: dict[str, Path] = field(default_factory=dict)
    init_checkpoint: str | None = None
    llm_config: Path | None = None
    command: str = ""


@dataclass
class TrainResult:
    """What a trainer reports.

    Attributes:
        status: ``done`` or ``dry-run`` (rendered and checked, nothing trained).
        checkpoint: The trained weights (a Hugging Face folder), if any.
        policy_model: A file the local server can serve as the next round's policy (GGUF).
        rollouts: ``(ingest adapter, path)`` of the rollouts the trainer wrote, for the
            warehouse (``verl`` dumps, taskforge ``jsonl``).
        details: Trainer-specific facts (command, steps, rewards per step, timings).
    """

    status: TrainStatus
    checkpoint: str | None = None
    policy_model: str | None = None
    rollouts: list[tuple[str, str]] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """JSON-ready form (the loop's stage record)."""
        return {
            "status": self.status,
            "checkpoint": self.checkpoint,
            "policy_model": self.policy_model,
            "rollouts": [list(r) for r in self.rollouts],
            **self.details,
        }


class Trainer(Protocol):
    """Trains the policy on a round's pool with the RewardSpec as the reward."""

    export: str | None
    """The export kind the trainer reads (``verl``), or None when it reads the tasks."""

    @classmethod
    def check(cls, config: LoopConfig) -> None:
        """Raise ``ValueError`` (one line) when the loop config lacks what training needs."""
        ...

    def train(self, request: TrainRequest) -> TrainResult:
        """Train one round."""
        ...


def load_trainer(name: str) -> Any:
    """The trainer class registered as ``name`` (or a ``package.module:Class`` path)."""
    from taskforge.registry import resolve

    return resolve("trainer", name)


class TrainerExporter(Protocol):
    """A trainer's export: the pool's tasks into the folder the trainer trains from."""

    def __call__(
        self,
        pool: Any,
        tasks: list[Task],
        db: Any,
        out: Path,
        command: str | None = None,
        **options: Any,
    ) -> Any:
        """Write ``out``; return a result with ``summary()`` (options by keyword)."""
        ...


def load_exporter(name: str) -> TrainerExporter:
    """The trainer exporter registered as ``name`` (or a ``package.module:function`` path)."""
    from taskforge.registry import resolve

    exporter: TrainerExporter = resolve("trainer_exporter", name)
    return exporter


def check_trainer(config: LoopConfig) -> None:
    """Validate the config against its trainer (the name resolves; what it needs is there)."""
    from taskforge.errors import DataError

    try:
        trainer = load_trainer(config.trainer)
    except DataError as exc:
        raise ValueError(str(exc)) from None
    if trainer.export is not None and trainer.export not in config.exports:
        raise ValueError(f"trainer {config.trainer} needs `{trainer.export}` in exports")
    trainer.check(config)
