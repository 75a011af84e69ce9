"""Reward specifications (what a trainer's reward is made of) and the breakdown of one score.

A :class:`RewardSpec` is a named, versioned list of weighted components; the scorer in
``taskforge.rewards`` turns a trajectory into a :class:`RewardBreakdown` under a spec. The
spec's :meth:`RewardSpec.spec_hash` covers only what decides a score (components, weights,
parameters, clip range), so it serves as a cache key and is carried in exports.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Literal

from pydantic import Field, model_validator

from taskforge.contracts.base import SCHEMA_VERSION, Contract, versioned
from taskforge.contracts.task import RewardType

RESERVED_KEYS = frozenset(
    {
        "score",
        "tau2_reward",
        "n_tool_calls",
        "n_invalid_calls",
        "n_format_errors",
        "n_extra_writes",
        "n_tokens",
    }
)
"""Keys of :meth:`RewardBreakdown.as_flat_dict` that no component may be named."""

TokenSource = Literal["usage", "estimate", "mixed", "none"]


class RewardComponentSpec(Contract):
    """One weighted component of a reward spec."""

    kind: str = Field(
        description="Registered component kind, e.g. 'task_success' or 'repeated_calls'."
    )
    name: str | None = Field(
        default=None,
        description="Key of the component in breakdowns (default: the kind); unique per spec.",
    )
    weight: float = Field(
        description="Multiplier of the component's value; the value is in [0, 1] for "
        "task_success and in [-1, 0] for penalties, so the weight is the most it can move "
        "the score."
    )
    params: dict[str, Any] = Field(
        default_factory=dict, description="Parameters of the component (validated by its kind)."
    )

    @property
    def key(self) -> str:
        """Name of the component in breakdowns."""
        return self.name or self.kind


class RewardSpec(Contract):
    """A versioned, serializable reward: weighted components summed and clipped."""

    model_config = versioned("RewardSpec")

    name: str = Field(description="Name of the spec, e.g. 'raft'.")
    version: int = Field(default=1, ge=1, description="Version of this spec; bump on change.")
    description: str | None = Field(default=None, description="What the spec is for.")
    components: list[RewardComponentSpec] = Field(
        min_length=1, description="The weighted components, summed in order."
    )
    clip_min: float = Field(default=-1.0, description="Lower bound of the total score.")
    clip_max: float = Field(default=1.0, description="Upper bound of the total score.")
    schema_version: str = Field(
        default=SCHEMA_VERSION, description="Version of the taskforge contracts."
    )

    @model_validator(mode="after")
    def _keys_are_unique_and_free(self) -> RewardSpec:
        seen: set[str] = set()
        for component in self.components:
            if component.key in RESERVED_KEYS:
                raise ValueError(f"component name {component.key!r} is reserved")
            if component.key in seen:
                raise ValueError(f"two components are named {component.key!r}; set 'name'")
            seen.add(component.key)
        if self.clip_min > self.clip_max:
            raise ValueError("clip_min is above clip_max")
        return self

    def scoring_content(self) -> dict[str, Any]:
        """What decides a score: components (kind, name, weight, params) and the clip range."""
        return {
            "components": [
                {"kind": c.kind, "name": c.key, "weight": c.weight, "params": c.params}
                for c in self.components
            ],
            "clip": [self.clip_min, self.clip_max],
        }

    def spec_hash(self) -> str:
        """16 hex digits of the SHA-256 of :meth:`scoring_content` as canonical JSON."""
        text = json.dumps(self.scoring_content(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    @property
    def is_sparse(self) -> bool:
        """True when task success is the only component (an ablation: no anti-hacking terms)."""
        return all(c.kind == "task_success" for c in self.components)


class ComponentScore(Contract):
    """The value of one component on one episode."""

    name: str = Field(description="Key of the component in the spec.")
    kind: str = Field(description="Kind of the component.")
    weight: float = Field(description="Its weight in the spec.")
    value: float = Field(description="Its value: [0, 1] for task success, [-1, 0] for penalties.")
    contribution: float = Field(description="weight * value, the amount added to the score.")
    detail: dict[str, Any] = Field(
        default_factory=dict, description="What the component counted (calls, tokens, budget)."
    )


class SuccessSummary(Contract):
    """The tau2-semantics evaluation behind the task-success term, in short."""

    reward: float = Field(description="tau2 reward: product over the reward basis (0 or 1).")
    reward_basis: list[RewardType] | None = Field(
        default=None, description="Components the tau2 reward is based on."
    )
    reward_breakdown: dict[RewardType, float] | None = Field(
        default=None, description="tau2 reward of each evaluated component."
    )
    db_match: bool | None = Field(default=None, description="Whether the DB end state matched.")
    skipped: list[RewardType] | None = Field(
        default=None, description="Components not evaluated (e.g. NL assertions, no judge)."
    )
    note: str | None = Field(default=None, description="Evaluator note, e.g. early termination.")


class RewardNotes(Contract):
    """Facts about the episode the components are computed from (independent of the spec)."""

    n_tool_calls: int = Field(description="Tool calls the agent made.")
    n_invalid_calls: int = Field(
        description="Well-formed calls to known tools answered with an error, not in the gold."
    )
    n_format_errors: int = Field(
        description="Malformed outputs: non-JSON arguments, unknown tools, empty turns, "
        "forbidden text."
    )
    n_gold_writes: int = Field(description="Write actions in the task's gold actions.")
    n_gold_writes_matched: int = Field(description="Gold writes matched by an agent write call.")
    n_extra_writes: int = Field(description="Agent write calls matching no gold write.")
    max_identical_calls: int = Field(
        description="Largest number of calls with the same name and arguments."
    )
    n_consecutive_repeats: int = Field(description="Calls identical to the call just before them.")
    n_assistant_tokens: int = Field(description="Tokens of the assistant turns.")
    n_tool_tokens: int = Field(description="Tokens of the tool outputs.")
    token_source: TokenSource = Field(
        description="'usage' when the messages carried provider token counts, 'estimate' when "
        "counted as ceil(chars / 4), 'mixed' when both, 'none' when there was nothing to count."
    )


class RewardBreakdown(Contract):
    """The score of one episode under one reward spec, component by component."""

    model_config = versioned("RewardBreakdown")

    score: float = Field(description="Clipped sum of the component contributions.")
    unclipped: float = Field(description="Sum of the contributions before clipping.")
    task_id: str = Field(description="Task of the episode.")
    trajectory_id: str | None = Field(default=None, description="Episode id, if known.")
    spec_name: str = Field(description="Name of the reward spec.")
    spec_version: int = Field(description="Version of the reward spec.")
    spec_hash: str = Field(description="Hash of the spec's scoring content.")
    components: list[ComponentScore] = Field(description="Each component, in spec order.")
    success: SuccessSummary = Field(description="The tau2-semantics evaluation.")
    notes: RewardNotes = Field(description="Counted facts about the episode.")
    schema_version: str = Field(
        default=SCHEMA_VERSION, description="Version of the taskforge contracts."
    )

    def as_flat_dict(self) -> dict[str, float]:
        """``{"score": ..., "<component>": contribution, ...}`` plus a few counts, all floats.

        The keys are the same for every episode under one spec, which verl's reward
        functions need (it stacks them across a batch).
        """
        flat = {"score": float(self.score)}
        flat.update({c.name: float(c.contribution) for c in self.components})
        flat["tau2_reward"] = float(self.success.reward)
        flat["n_tool_calls"] = float(self.notes.n_tool_calls)
        flat["n_invalid_calls"] = float(self.notes.n_invalid_calls)
        flat["n_format_errors"] = float(self.notes.n_format_errors)
        flat["n_extra_writes"] = float(self.notes.n_extra_writes)
        flat["n_tokens"] = float(self.notes.n_assistant_tokens + self.notes.n_tool_tokens)
        return flat
