"""Trajectories (tau2's SimulationRun) and tau2 results files."""

from __future__ import annotations

from enum import Enum
from typing import Any

from pydantic import Field

from taskforge.contracts.base import SCHEMA_VERSION, Contract, versioned
from taskforge.contracts.message import Message, ToolCall
from taskforge.contracts.reward import RewardInfo
from taskforge.contracts.task import Task


class TerminationReason(str, Enum):
    """Why an episode ended (tau2's reasons)."""

    USER_STOP = "user_stop"
    AGENT_STOP = "agent_stop"
    MAX_STEPS = "max_steps"
    TIMEOUT = "timeout"
    TOO_MANY_ERRORS = "too_many_errors"
    AGENT_ERROR = "agent_error"
    USER_ERROR = "user_error"
    INFRASTRUCTURE_ERROR = "infrastructure_error"
    CONTEXT_WINDOW_EXCEEDED = "context_window_exceeded"
    UNEXPECTED_ERROR = "unexpected_error"

    @property
    def is_normal(self) -> bool:
        """Only a stop by the agent or the user is evaluated; anything else scores 0."""
        return self in (TerminationReason.USER_STOP, TerminationReason.AGENT_STOP)


class Trajectory(Contract):
    """One episode: agent and user on one task, with its messages and reward."""

    model_config = versioned("Trajectory")

    id: str = Field(description="Unique id of the episode.")
    task_id: str = Field(description="Id of the task played.")
    timestamp: str | None = Field(default=None, description="When the record was made.")
    start_time: str | None = Field(default=None, description="When the episode started.")
    end_time: str | None = Field(default=None, description="When the episode ended.")
    duration: float | None = Field(default=None, description="Seconds the episode took.")
    termination_reason: TerminationReason = Field(description="Why the episode ended.")
    agent_cost: float | None = Field(default=None, description="Agent LLM cost in USD.")
    user_cost: float | None = Field(default=None, description="User simulator cost in USD.")
    agent_usage: dict[str, Any] | None = Field(default=None, description="Agent token usage.")
    reward_info: RewardInfo | None = Field(default=None, description="The episode's score.")
    messages: list[Message] = Field(description="The dialogue, in order.")
    ticks: list[dict[str, Any]] | None = Field(
        default=None, description="tau2 full duplex ticks (kept as recorded)."
    )
    trial: int | None = Field(default=None, description="Trial number for the task.")
    seed: int | None = Field(default=None, description="Seed of the episode.")
    mode: str | None = Field(default=None, description="tau2 communication mode.")
    speech_environment: dict[str, Any] | None = Field(
        default=None, description="tau2 voice settings."
    )
    review: dict[str, Any] | None = Field(default=None, description="tau2 LLM review.")
    user_only_review: dict[str, Any] | None = Field(
        default=None, description="tau2 user-only review."
    )
    info: dict[str, Any] | None = Field(default=None, description="Free-form run info.")
    auth_classification: dict[str, Any] | None = Field(
        default=None, description="tau2 authentication classification."
    )
    hallucination_retries_used: int | None = Field(
        default=None, description="tau2 hallucination retries."
    )
    hallucination_check: dict[str, Any] | None = Field(
        default=None, description="tau2 hallucination check."
    )
    provider_session_id: str | None = Field(default=None, description="Provider session id.")
    policy: str | None = Field(default=None, description="Policy text shown to the agent.")
    effect_timeline: dict[str, Any] | None = Field(
        default=None, description="tau2 voice effects timeline."
    )
    error_modes: list[str] | None = Field(
        default=None,
        description="taskforge: error modes a scripted policy injected (ground truth for mining).",
    )
    schema_version: str = Field(
        default=SCHEMA_VERSION, description="Version of the taskforge contracts."
    )

    def tool_calls(self) -> list[ToolCall]:
        """All tool calls in message order."""
        return [c for m in self.messages for c in (m.tool_calls or [])]


class Tau2Results(Contract):
    """A tau2 results file: run info, the tasks it ran, and its simulations."""

    model_config = versioned("Tau2Results")

    timestamp: str | None = Field(default=None, description="When the run was saved.")
    info: dict[str, Any] = Field(description="Run info: models, domain, policy, limits.")
    tasks: list[Task] = Field(description="The tasks the run used.")
    simulations: list[Trajectory] = Field(description="The simulations.")
    simulation_index: list[dict[str, Any]] | None = Field(
        default=None, description="tau2 'dir' format index."
    )
