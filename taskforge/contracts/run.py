"""Runs and the records of taskforge's own JSONL (what rollout workers write)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from taskforge.contracts.base import SCHEMA_VERSION, Contract, versioned
from taskforge.contracts.task import Task
from taskforge.contracts.trajectory import Trajectory


class Run(Contract):
    """One batch of episodes: who played (agent, user), where, with what config, in which round."""

    model_config = versioned("Run")

    run_id: str = Field(description="Unique run id (content-derived for imported runs).")
    source: str = Field(description="Where the run came from: 'tau2', 'taskforge', 'verl', ...")
    agent_model: str | None = Field(default=None, description="Policy model (LiteLLM string).")
    user_model: str | None = Field(default=None, description="User simulator model.")
    domain: str = Field(default="retail", description="Domain name.")
    env_version: str | None = Field(
        default=None, description="Environment version (e.g. tau2 git commit or taskforge version)."
    )
    round: int | None = Field(default=None, description="Loop round the run belongs to.")
    created_at: str | None = Field(default=None, description="ISO time the run was made.")
    config: dict[str, Any] = Field(default_factory=dict, description="Config that made the run.")
    schema_version: str = Field(
        default=SCHEMA_VERSION, description="Version of the taskforge contracts."
    )


class RunRecord(Contract):
    """JSONL line announcing a run."""

    type: Literal["run"] = Field(description="Record type.")
    run: Run = Field(description="The run.")


class TaskRecord(Contract):
    """JSONL line carrying a task a run uses."""

    type: Literal["task"] = Field(description="Record type.")
    run_id: str = Field(description="Run that uses the task.")
    task: Task = Field(description="The task.")


class TrajectoryRecord(Contract):
    """JSONL line carrying one finished episode."""

    type: Literal["trajectory"] = Field(description="Record type.")
    run_id: str = Field(description="Run the episode belongs to.")
    trajectory: Trajectory = Field(description="The episode.")


JsonlRecord = Annotated[RunRecord | TaskRecord | TrajectoryRecord, Field(discriminator="type")]
"""One line of taskforge's JSONL: a run, a task, or a trajectory (any order within a shard,
as long as a trajectory's run and task appear in the same shard or are already stored)."""
