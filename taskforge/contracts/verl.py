"""The JSONL the taskforge verl agent loop writes: one whole episode per line, with its context.

verl's own rollout dumps hold decoded text only; the agent loop (``trainer_adapters/verl``)
also writes each episode as it happened (turns, tool calls, the user's messages), the task it
played, where in training it happened (experiment, round, step) and its reward under the
spec. ``taskforge ingest verl`` lands these lines as trajectories.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from taskforge.contracts.base import SCHEMA_VERSION, Contract, versioned
from taskforge.contracts.task import Task
from taskforge.contracts.trajectory import Trajectory


class VerlEpisode(Contract):
    """One line of the verl agent loop's JSONL."""

    model_config = versioned("VerlEpisode")

    type: Literal["verl_episode"] = Field(default="verl_episode", description="Record type.")
    project: str | None = Field(default=None, description="verl trainer.project_name.")
    experiment: str | None = Field(default=None, description="verl trainer.experiment_name.")
    round: int | None = Field(default=None, description="taskforge loop round of the training.")
    mode: str | None = Field(
        default=None, description="Training mode: 'raft' (from SFT, union pool) or 'on-policy'."
    )
    split: Literal["train", "val"] = Field(description="Split of the row the episode played.")
    step: int | None = Field(
        default=None,
        description="Training step whose batch held the row (verl's global_steps; None when "
        "the trainer does not pass it to agent loops).",
    )
    weights_step_min: int | None = Field(
        default=None, description="Oldest weights version that generated a turn of the episode."
    )
    weights_step_max: int | None = Field(
        default=None, description="Newest weights version that generated a turn of the episode."
    )
    uid: str | None = Field(default=None, description="verl's id of the prompt (row) sampled.")
    session: int | None = Field(
        default=None, description="Which of the prompt's rollout.n samples this is."
    )
    model: str | None = Field(default=None, description="Policy model path being trained.")
    user_model: str | None = Field(default=None, description="User simulator model.")
    data_source: str | None = Field(default=None, description="The row's data_source.")
    reward_spec: str | None = Field(default=None, description="Name of the reward spec applied.")
    reward_spec_hash: str | None = Field(default=None, description="Hash of that reward spec.")
    reward: dict[str, float] | None = Field(
        default=None,
        description="The episode's reward under the spec: 'score' and each component "
        "(what compute_score returns to verl).",
    )
    task: Task = Field(description="The task played.")
    trajectory: Trajectory = Field(
        description="The episode in taskforge's format; reward_info is tau2's evaluation."
    )
    schema_version: str = Field(
        default=SCHEMA_VERSION, description="Version of the taskforge contracts."
    )


def episode_folder(split: str, step: int | None) -> str:
    """Folder, under the loop's episodes folder, of one step's episode files."""
    name = "step-unknown" if step is None else f"step-{step:06d}"
    return f"val-{name}" if split == "val" else name
