"""The scripted agents as LiteLLM offline providers (``taskforge/scripted-policy``, ``-user``).

They are honest simulations, named as such: the rule-based agent of the episode's domain (its
``ScriptedAgents``) with tunable error modes and a user that plays a task from structured facts.
Registered as LiteLLM custom providers, they take exactly the path an online model takes.
"""

from __future__ import annotations

from typing import Any

from taskforge.env.db import Database


class _UserResponder:
    """Adapts the simulator's view (roles swapped, see rollout.views) to the scripted user."""

    def __init__(self, context: dict[str, Any]) -> None:
        from taskforge.domains import domain_of

        db: Database = context["db"]
        agents = domain_of(db).scripted_agents()
        self.user = agents.make_user(context["task"], db, context["seed"])

    def respond(self, messages: list[dict[str, Any]], tools: Any = None) -> dict[str, Any]:
        swapped = {"user": "assistant", "assistant": "user"}
        dialogue = [
            {"role": swapped[m["role"]], "content": m.get("content")}
            for m in messages
            if m.get("role") in swapped
        ]
        return {"role": "assistant", "content": self.user.respond(dialogue)}


class _PolicyResponder:
    """The domain's scripted policy with the episode's error rates and seed."""

    def __init__(self, context: dict[str, Any]) -> None:
        from taskforge.domains import domain_of

        agents = domain_of(context["db"]).scripted_agents()
        self.policy = agents.make_policy(context.get("error_rates"), context["seed"])

    def respond(self, messages: list[dict[str, Any]], tools: Any = None) -> dict[str, Any]:
        return self.policy.respond(messages, tools or [])


def register_scripted_agents() -> None:
    """Register ``taskforge/scripted-policy`` and ``taskforge/scripted-user`` (idempotent)."""
    from taskforge.llm.offline import register_offline_agent

    register_offline_agent("scripted-policy", lambda context, params: _PolicyResponder(context))
    register_offline_agent("scripted-user", lambda context, params: _UserResponder(context))
