"""What every stage of a loop round sees: the config, where things go, the domain and its DB."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from taskforge.contracts.loop import LoopConfig
from taskforge.contracts.pool import PoolMode
from taskforge.domains import Domain, get_domain
from taskforge.env.db import Database
from taskforge.errors import DataError
from taskforge.warehouse.keys import content_key

if TYPE_CHECKING:
    from taskforge.executors import Executor


def config_hash(config: LoopConfig) -> str:
    """Content hash of a loop config (paths as given), the key of its stage records.

    The number of rounds is left out: asking for more rounds extends the same loop. So is the
    executor: a loop started on one machine may go on on a Ray cluster (same episodes).
    """
    return content_key("loop", config.model_dump(mode="json", exclude={"rounds", "executor"}))


class StageProgress(Protocol):
    """Told when a long stage starts (its item count: episodes, failures to judge) and as
    each item ends (with the episode's reward, when there is one)."""

    def start(self, total: int, label: str = "episodes") -> None: ...

    def step(self, reward: float | None = None) -> None: ...


@dataclass
class LoopContext:
    """A loop run: its config, its warehouse and output folder, and cached domain objects."""

    config: LoopConfig
    warehouse: Path
    out: Path
    outputs: dict[tuple[int, str], dict[str, Any]] = field(default_factory=dict)
    progress: StageProgress | None = None
    _executor: Executor | None = field(default=None, repr=False)

    def executor(self) -> Executor:
        """The round's executor, opened by the first stage that asks (one Ray cluster a
        round, shared by its rollout, mine, synthesize and verify); see :meth:`close_executor`."""
        if self._executor is None:
            from taskforge.executors import build_executor

            self._executor = build_executor(self.config.executor)
        return self._executor

    def close_executor(self) -> None:
        """Close the round's executor if a stage opened it (a local cluster is shut down)."""
        if self._executor is not None:
            executor, self._executor = self._executor, None
            executor.close()

    @cached_property
    def config_hash(self) -> str:
        """Hash of the config."""
        return config_hash(self.config)

    @property
    def loop_id(self) -> str:
        """The loop's id: its name and config hash (a changed config starts a new loop)."""
        return f"{self.config.name}@{self.config_hash}"

    @cached_property
    def domain(self) -> Domain:
        """The environment domain."""
        return get_domain(self.config.domain)

    @cached_property
    def db(self) -> Database:
        """The task DB."""
        return self.domain.load_db(self.config.db)

    @property
    def db_path(self) -> Path:
        """The task DB's file."""
        path = self.config.db or self.domain.default_db_path
        if path is None:
            raise DataError(f"domain {self.config.domain!r} has no bundled DB: set `db:`")
        return path

    @property
    def seed_tasks_path(self) -> Path:
        """Round-0 tasks (default: the seed tasks shipped beside the bundled DB)."""
        return self.config.seed_tasks or self.db_path.parent / "seed_tasks.json"

    @property
    def pool_mode(self) -> PoolMode:
        """The pool mode the loop's mode stands for."""
        return "raft-union" if self.config.mode == "raft" else "on-policy"

    @property
    def command(self) -> str:
        """How this loop was started, for the provenance of what it writes."""
        from taskforge.export.manifest import command_line

        return command_line()

    def synthesis_roles(self, seed: int) -> Any:
        """Writer, explorer and agreement check of the LLM config (offline: templates only)."""
        from taskforge.synthesis.llm import roles_from_file

        return roles_from_file(self.config.llm_config, seed)

    def round_dir(self, round_: int) -> Path:
        """The folder of one round's files."""
        return self.out / f"round-{round_:02d}"

    def output(self, round_: int, stage: str) -> dict[str, Any]:
        """Outputs of a stage that ran (or was resumed) earlier in this loop run."""
        return self.outputs[(round_, stage)]
