"""Judgments (why an episode failed) and failure taxonomies (patterns of judgments)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from taskforge.contracts.base import SCHEMA_VERSION, Contract, versioned

Blame = Literal["agent", "user_simulator", "task", "environment"]
"""Who caused a failure; only agent failures become training tasks."""

FailureCategory = Literal[
    "wrong_argument",
    "wrong_record",
    "missing_action",
    "extra_action",
    "no_confirmation",
    "early_stop",
    "repeated_calls",
    "tool_error",
    "communication",
    "premature_termination",
    "task_defect",
    "other",
]
"""Coarse failure families (SENTINEL's classes, refined); patterns are mined beneath them."""


class Judgment(Contract):
    """A judge's explanation of one failed episode."""

    model_config = versioned("Judgment")

    judgment_id: str = Field(description="Content key of the judgment.")
    traj_uid: str = Field(description="Warehouse key of the judged trajectory.")
    task_id: str = Field(description="Task of the trajectory.")
    judge: str = Field(description="Judge implementation, e.g. 'diagnostic' or 'llm'.")
    model: str | None = Field(default=None, description="LLM behind the judge, if any.")
    prompt_version: str | None = Field(default=None, description="Version of the judge prompt.")
    category: FailureCategory = Field(description="Coarse failure family.")
    blame: Blame = Field(description="Who caused the failure.")
    decisive_step: int | None = Field(
        default=None, description="Index of the message where the episode went wrong."
    )
    explanation: str = Field(description="What went wrong, in one or two sentences.")
    evidence: list[str] = Field(
        default_factory=list, description="Quotes from the dialogue or tool outputs."
    )
    structured: dict[str, Any] = Field(
        default_factory=dict,
        description="Structured diff features: tool, is_write, argument, expected, actual, ...",
    )
    schema_version: str = Field(
        default=SCHEMA_VERSION, description="Version of the taskforge contracts."
    )
