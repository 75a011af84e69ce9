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


def scenario_text(task: Task) -> str:
    """The task's user scenario as the simulator reads it."""
    scenario = task.user_scenario
    parts = [f"Persona:\n{scenario.persona}"] if scenario.persona else []
    instructions = scenario.instructions
    if isinstance(instructions, StructuredUserInstructions):
        parts.append(f"Domain: {instructions.domain}")
        parts.append(f"Reason for contacting support:\n{instructions.reason_for_call}")
        if instructions.known_info:
            parts.append(f"What you know:\n{instructions.known_info}")
        if instructions.unknown_info:
            parts.append(f"What you do not know:\n{instructions.unknown_info}")
        parts.append(f"How to behave:\n{instructions.task_instructions}")
    else:
        parts.append(instructions)
    return "\n\n".join(parts)


def user_system_prompt(task: Task) -> str:
    """System prompt of an LLM user simulator for ``task``."""
    return _template("user_simulator.md").substitute(scenario=scenario_text(task))


def agent_system_prompt(policy: str) -> str:
    """System prompt of the agent (policy) model."""
    return _template("agent_system.md").substitute(policy=policy)


def has_stop_token(text: str | None) -> bool:
    """Whether a message ends the conversation."""
    return bool(text) and any(token in text for token in STOP_TOKENS)  # type: ignore[operator]
