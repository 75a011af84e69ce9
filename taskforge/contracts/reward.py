"""Rewards: tau2's RewardInfo, plus taskforge's structured diff of the end states."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from taskforge.contracts.base import SCHEMA_VERSION, Contract, versioned
from taskforge.contracts.task import Action, EnvAssertion, RewardType


class DBCheck(Contract):
    """Whether the end-state DB equals the gold end state."""

    db_match: bool = Field(description="True when the two DB hashes are equal.")
    db_reward: float = Field(description="1.0 on a match, else 0.0.")


class ActionCheck(Contract):
    """Whether one gold action was among the agent's tool calls."""

    action: Action = Field(description="The gold action.")
    action_match: bool = Field(description="Whether a matching call was made.")
    action_reward: float = Field(description="1.0 on a match, else 0.0.")
    tool_type: str | None = Field(default=None, description="read, write, generic or think.")


class CommunicateCheck(Contract):
    """Whether one required string was said to the user."""

    info: str = Field(description="The required string.")
    met: bool = Field(description="Whether an agent message contained it.")
    justification: str = Field(description="Where it was found, or that it was not.")


class NLAssertionCheck(Contract):
    """A judge's verdict on one natural-language assertion."""

    nl_assertion: str = Field(description="The assertion.")
    met: bool = Field(description="The verdict.")
    justification: str = Field(description="The judge's reason.")


class EnvAssertionCheck(Contract):
    """Result of one environment assertion."""

    env_assertion: EnvAssertion = Field(description="The assertion.")
    met: bool = Field(description="Whether it held.")
    reward: float = Field(description="1.0 when it held, else 0.0.")


class FieldDiff(Contract):
    """One field whose value differs between the expected and the actual end state."""

    table: str = Field(description="Table of the record, e.g. 'orders'.")
    key: str = Field(description="Key of the record, e.g. '#W2378156'.")
    field: str = Field(description="Dotted path of the field ('' when the record is missing).")
    expected: Any = Field(default=None, description="Value in the gold end state.")
    actual: Any = Field(default=None, description="Value in the agent's end state.")


class DivergentWrite(Contract):
    """The first write call where the agent's writes depart from the gold writes."""

    index: int = Field(description="Position among the writes (0-based).")
    expected: dict[str, Any] | None = Field(
        default=None, description="Gold write at that position (name, arguments), if any."
    )
    actual: dict[str, Any] | None = Field(
        default=None, description="Agent write at that position (name, arguments), if any."
    )
    actual_error: str | None = Field(
        default=None, description="Error the agent's write returned, if it failed."
    )


class StateDiff(Contract):
    """taskforge: structured difference between the gold and the agent's end states."""

    fields: list[FieldDiff] = Field(default_factory=list, description="Differing fields.")
    first_divergent_write: DivergentWrite | None = Field(
        default=None, description="First write that departs from the gold writes."
    )
    gold_errors: list[str] = Field(
        default_factory=list, description="Errors raised by gold actions during replay."
    )


class RewardInfo(Contract):
    """The score of one episode, as tau2 reports it, plus taskforge's diagnosis."""

    model_config = versioned("RewardInfo")

    reward: float = Field(description="Product of the components in reward_basis.")
    db_check: DBCheck | None = Field(default=None, description="DB end-state check.")
    env_assertions: list[EnvAssertionCheck] | None = Field(
        default=None, description="Environment assertion checks."
    )
    action_checks: list[ActionCheck] | None = Field(default=None, description="Action checks.")
    nl_assertions: list[NLAssertionCheck] | None = Field(
        default=None, description="NL assertion verdicts."
    )
    communicate_checks: list[CommunicateCheck] | None = Field(
        default=None, description="Communicate checks."
    )
    reward_basis: list[RewardType] | None = Field(
        default=None, description="Components the reward is based on."
    )
    reward_breakdown: dict[RewardType, float] | None = Field(
        default=None, description="Reward of each evaluated component."
    )
    info: dict[str, Any] | None = Field(default=None, description="Notes from the evaluator.")
    skipped: list[RewardType] | None = Field(
        default=None,
        description="taskforge: components in reward_basis that were not evaluated "
        "(e.g. NL assertions with no judge configured); never counted as passed.",
    )
    diff: StateDiff | None = Field(default=None, description="taskforge: end-state diff.")
    schema_version: str = Field(
        default=SCHEMA_VERSION, description="Version of the taskforge contracts."
    )
