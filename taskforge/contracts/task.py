"""Tasks: a superset of tau2's task JSON, plus taskforge's origin, pattern, lineage, certificate."""

from __future__ import annotations

from enum import Enum
from typing import Any, Literal

from pydantic import Field

from taskforge.contracts.base import SCHEMA_VERSION, Contract, versioned
from taskforge.contracts.message import Message, Requestor, ToolCall


class RewardType(str, Enum):
    """Components a task's reward can be based on (tau2's names)."""

    DB = "DB"
    ENV_ASSERTION = "ENV_ASSERTION"
    NL_ASSERTION = "NL_ASSERTION"
    ACTION = "ACTION"
    COMMUNICATE = "COMMUNICATE"


class StructuredUserInstructions(Contract):
    """What the simulated user knows and wants, in tau2's structured form."""

    domain: str = Field(description="Domain of the task, e.g. 'retail'.")
    reason_for_call: str = Field(description="Why the user contacts the agent.")
    known_info: str | None = Field(default=None, description="What the user knows.")
    unknown_info: str | None = Field(default=None, description="What the user does not know.")
    task_instructions: str = Field(description="How the user should behave.")


class UserScenario(Contract):
    """The simulated user's persona and instructions."""

    persona: str | None = Field(default=None, description="Persona of the user.")
    instructions: StructuredUserInstructions | str = Field(
        description="Structured instructions, or free text."
    )


class Description(Contract):
    """Human-facing description of a task."""

    purpose: str | None = Field(default=None, description="What the task tests.")
    relevant_policies: str | None = Field(default=None, description="Policies involved.")
    notes: str | None = Field(default=None, description="Free notes.")


class Action(Contract):
    """A gold tool call: replayed to derive the expected end state."""

    action_id: str = Field(description="Identifier of the action within its task.")
    requestor: Requestor = Field(default="assistant", description="Who makes the call.")
    name: str = Field(description="Tool name.")
    arguments: dict[str, Any] = Field(description="Tool arguments.")
    info: str | None = Field(default=None, description="Notes about the action.")
    compare_args: list[str] | None = Field(
        default=None,
        description="Arguments compared by the action check; None compares all of them.",
    )

    def matches(self, call: ToolCall) -> bool:
        """tau2's comparison of a gold action with a tool call."""
        if self.name != call.name:
            return False
        keys = set(call.arguments) if self.compare_args is None else set(self.compare_args)
        if not keys:
            return True
        ours = {k: v for k, v in self.arguments.items() if k in keys}
        theirs = {k: v for k, v in call.arguments.items() if k in keys}
        return ours == theirs


class EnvFunctionCall(Contract):
    """A direct call of an environment function (initialisation actions)."""

    env_type: Literal["user", "assistant"] = Field(description="Which toolkit to call.")
    func_name: str = Field(description="Function to call.")
    arguments: dict[str, Any] = Field(default_factory=dict, description="Its arguments.")


class EnvAssertion(EnvFunctionCall):
    """An assertion over the end state: a function whose boolean result is compared."""

    assert_value: bool = Field(default=True, description="Expected result.")
    message: str | None = Field(default=None, description="Message when the assertion fails.")


class InitializationData(Contract):
    """Updates applied to the DBs before the episode."""

    agent_data: dict[str, Any] | None = Field(default=None, description="Agent DB update.")
    user_data: dict[str, Any] | None = Field(default=None, description="User DB update.")


class InitialState(Contract):
    """The state an episode starts from."""

    initialization_data: InitializationData | None = Field(
        default=None, description="DB updates applied first."
    )
    initialization_actions: list[EnvFunctionCall] | None = Field(
        default=None, description="Function calls run next."
    )
    message_history: list[Message] | None = Field(
        default=None, description="Messages the episode starts with."
    )


class EvaluationCriteria(Contract):
    """How an episode on the task is scored."""

    actions: list[Action] | None = Field(default=None, description="Gold actions.")
    env_assertions: list[EnvAssertion] | None = Field(
        default=None, description="Assertions over the end state."
    )
    communicate_info: list[str] | None = Field(
        default=None, description="Strings the agent must say to the user."
    )
    nl_assertions: list[str] | None = Field(
        default=None, description="Natural-language assertions for a judge."
    )
    reward_basis: list[RewardType] = Field(
        default_factory=lambda: [RewardType.DB, RewardType.COMMUNICATE],
        description="Components whose product is the reward.",
    )


class TaskIssue(Contract):
    """A known problem with a task, as tau2 records it."""

    id: str = Field(description="Issue identifier.")
    title: str = Field(description="Short summary.")
    description: str | None = Field(default=None, description="Details.")
    status: str | None = Field(default=None, description="open, resolved, ...")
    resolution: str | None = Field(default=None, description="How it was resolved.")
    created_at: str | None = Field(default=None, description="When it was filed.")
    resolved_at: str | None = Field(default=None, description="When it was resolved.")
    author_email: str | None = Field(default=None, description="Who filed it.")
    pr_link: str | None = Field(default=None, description="Pull request fixing it.")
    simulation_file: str | None = Field(default=None, description="Simulation showing it.")


TaskOrigin = Literal["tau2", "seed", "naive", "targeted", "explorer", "manual"]


class Lineage(Contract):
    """Where a generated task came from."""

    round: int | None = Field(default=None, description="Loop round that produced it.")
    source_failures: list[str] = Field(
        default_factory=list, description="Trajectory ids of the failures behind it."
    )
    generator: str | None = Field(default=None, description="Sampler/writer that made it.")
    pattern_id: str | None = Field(
        default=None, description="Mined taxonomy pattern the task was made for."
    )
    parent_task_ids: list[str] = Field(
        default_factory=list, description="Tasks it was derived from."
    )
    config_hash: str | None = Field(default=None, description="Hash of the generating config.")


class Certificate(Contract):
    """Proof that a task is feasible and well posed (filled by the verifier)."""

    gold_replay_ok: bool = Field(description="Gold actions replay with no tool error.")
    state_changed: bool = Field(description="Gold end state differs from the start.")
    noop_reward: float = Field(description="Reward of a do-nothing trajectory.")
    targets_identified: bool = Field(
        description="The records the gold actions touch follow from the scenario."
    )
    db_hash: str = Field(description="Content hash of the DB the task runs on.")
    db_source: str | None = Field(
        default=None,
        description="Absolute path of the DB file the task was certified on, when it came from "
        "one: exports given no DB look for it there (the hash decides).",
    )
    gold_end_hash: str = Field(description="Content hash after the gold actions.")
    checks: dict[str, Any] = Field(default_factory=dict, description="Further checks.")
    verifier_version: str = Field(description="Version of the verifier.")


class Task(Contract):
    """A task: tau2's task JSON, with taskforge's optional fields."""

    model_config = versioned("Task")

    id: str = Field(description="Unique task id.")
    description: Description | None = Field(default=None, description="Description.")
    user_scenario: UserScenario = Field(description="The simulated user's scenario.")
    ticket: str | None = Field(default=None, description="Ticket text for solo mode.")
    initial_state: InitialState | None = Field(default=None, description="Starting state.")
    evaluation_criteria: EvaluationCriteria | None = Field(
        default=None, description="How the task is scored."
    )
    issues: list[TaskIssue] | None = Field(default=None, description="Known issues.")
    required_documents: list[str] | None = Field(
        default=None, description="tau2: documents the task needs."
    )
    user_tools: list[str] | None = Field(default=None, description="tau2: user tools allowed.")
    annotations: dict[str, Any] | None = Field(
        default=None, description="tau2: free-form annotations (null in tau2's Airline tasks)."
    )
    origin: TaskOrigin | None = Field(default=None, description="taskforge: how it was made.")
    pattern: str | None = Field(
        default=None, description="taskforge: failure pattern the task targets."
    )
    lineage: Lineage | None = Field(default=None, description="taskforge: lineage.")
    certificate: Certificate | None = Field(
        default=None, description="taskforge: feasibility certificate."
    )
    schema_version: str = Field(
        default=SCHEMA_VERSION, description="Version of the taskforge contracts."
    )

    def gold_actions(self) -> list[Action]:
        """The gold actions, or an empty list."""
        if self.evaluation_criteria is None:
            return []
        return list(self.evaluation_criteria.actions or [])
