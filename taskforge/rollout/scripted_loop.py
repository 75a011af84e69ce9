"""A small episode loop for the scripted policy and user: a test and diagnostic harness.

It is not the orchestrator (that one runs any LiteLLM model pair, see
``taskforge.rollout.episode``); it drives :class:`ScriptedPolicy` and :class:`ScriptedUser`
directly, with no LLM layer, to measure them and to test them quickly.
"""

from __future__ import annotations

from typing import Any

from taskforge.contracts import Message, Task, TerminationReason, Trajectory
from taskforge.env.db import Database
from taskforge.env.evaluator import Evaluator
from taskforge.env.replay import initial_environment
from taskforge.env.toolkit import Toolkit
from taskforge.llm.client import normalise_message, to_openai_messages
from taskforge.rollout.signals import ERROR_MODES_KEY, STOP, TRANSFER

GREETING = "Hi! How can I help you today?"


def run_scripted_episode(
    task: Task,
    db: Database,
    toolkit_cls: type[Toolkit],
    error_rates: dict[str, float] | None,
    seed: int,
    max_steps: int = 200,
) -> tuple[list[Message], list[str], TerminationReason]:
    """Play one episode of the scripted policy against the scripted user.

    Args:
        task: The task (its gold actions feed only the user's facts).
        db: The task's base DB.
        toolkit_cls: The domain's toolkit.
        error_rates: The policy's error rates (None: the defaults).
        seed: Seed of both sides.
        max_steps: Most messages before the episode is cut (``MAX_STEPS``).

    Returns:
        The messages (tau2 format, greeting first), the fired error modes in order, and
        how the episode ended.
    """
    env = initial_environment(toolkit_cls, db, task)
    from taskforge.domains import domain_of

    agents = domain_of(db).scripted_agents()
    user = agents.make_user(task, db, seed)
    policy = agents.make_policy(error_rates, seed)
    tools = env.tool_schemas()
    messages = [Message(role="assistant", content=GREETING)]
    agent_turn = False
    while len(messages) < max_steps:
        if not agent_turn:
            text = user.respond(_dialogue(messages))
            messages.append(Message(role="user", content=text))
            if STOP in text or TRANSFER in text:
                return messages, policy.fired, TerminationReason.USER_STOP
            agent_turn = True
            continue
        reply = policy.respond(to_openai_messages(messages), tools)
        reply.pop(ERROR_MODES_KEY, None)
        message, _extras = normalise_message(reply)
        messages.append(message)
        if message.tool_calls:
            messages.extend(env.step(call) for call in message.tool_calls)
        else:
            agent_turn = False
    return messages, policy.fired, TerminationReason.MAX_STEPS


def _dialogue(messages: list[Message]) -> list[dict[str, Any]]:
    return [
        {"role": m.role, "content": m.content}
        for m in messages
        if m.role in ("user", "assistant") and m.content and not m.tool_calls
    ]


def scripted_trajectory(
    task: Task,
    db: Database,
    evaluator: Evaluator,
    error_rates: dict[str, float] | None,
    seed: int,
    trajectory_id: str,
    trial: int,
) -> Trajectory:
    """One scripted episode, scored, as a trajectory recording the error modes that fired."""
    messages, fired, reason = run_scripted_episode(
        task, db, evaluator.toolkit_cls, error_rates, seed
    )
    return Trajectory(
        id=trajectory_id,
        task_id=task.id,
        trial=trial,
        seed=seed,
        termination_reason=reason,
        messages=messages,
        reward_info=evaluator.evaluate(task, messages, reason),
        error_modes=fired,
    )
