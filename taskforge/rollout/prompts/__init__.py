"""Prompts of the rollout: the agent's system prompt and the user simulator's (own words)."""

from __future__ import annotations

from pathlib import Path
from string import Template

from taskforge.contracts import StructuredUserInstructions, Task

_HERE = Path(__file__).resolve().parent
STOP, TRANSFER, OUT_OF_SCOPE = "###STOP###", "###TRANSFER###", "###OUT-OF-SCOPE###"
STOP_TOKENS = (STOP, TRANSFER, OUT_OF_SCOPE)
GREETING = "Hi! How can I help you today?"


def _template(name: str) -> Template:
    return Template((_HERE / name).read_text(encoding="utf-8"))


USER_LABELS = {
    "persona": "Persona",
    "domain": "Domain",
    "reason": "Reason for contacting support",
    "known": "What you know",
    "unknown": "What you do not know",
    "behaviour": "How to behave",
}
"""Headings of the scenario as the user simulator reads it (second person)."""


def scenario_text(task: Task, labels: dict[str, str] | None = None, sep: str = "\n\n") -> str:
    """The task's user scenario, under ``labels`` headings (the simulator's by default)."""
    names = labels or USER_LABELS
    scenario = task.user_scenario
    parts = [f"{names['persona']}:\n{scenario.persona}"] if scenario.persona else []
    instructions = scenario.instructions
    if not isinstance(instructions, StructuredUserInstructions):
        return sep.join([*parts, instructions])
    fields = [
        ("domain", instructions.domain),
        ("reason", instructions.reason_for_call),
        ("known", instructions.known_info),
        ("unknown", instructions.unknown_info),
        ("behaviour", instructions.task_instructions),
    ]
    parts += [f"{names[key]}:\n{value}" for key, value in fields if value and key in names]
    return sep.join(parts)


def user_system_prompt(task: Task) -> str:
    """System prompt of an LLM user simulator for ``task``."""
    return _template("user_simulator.md").substitute(scenario=scenario_text(task))


def agent_system_prompt(policy: str) -> str:
    """System prompt of the agent (policy) model."""
    return _template("agent_system.md").substitute(policy=policy)


def has_stop_token(text: str | None) -> bool:
    """Whether a message ends the conversation."""
    return bool(text) and any(token in text for token in STOP_TOKENS)  # type: ignore[operator]
