"""Airline's offline scripted agents, as the rollout stage asks for them (``ScriptedAgents``)."""

from __future__ import annotations

from collections.abc import Mapping

from taskforge.contracts import Task
from taskforge.domains.airline.facts import derive_facts
from taskforge.domains.airline.scripted_policy import (
    DEFAULT_ERROR_RATES,
    ERROR_MODES,
    ScriptedPolicy,
)
from taskforge.domains.airline.scripted_user import ScriptedUser
from taskforge.env.db import Database


def make_policy(error_rates: Mapping[str, float] | None, seed: int) -> ScriptedPolicy:
    """The scripted Airline agent with these error rates (None: the defaults)."""
    return ScriptedPolicy(None if error_rates is None else dict(error_rates), seed)


def make_user(task: Task, db: Database, seed: int) -> ScriptedUser:
    """The scripted user playing ``task`` on ``db``."""
    return ScriptedUser(derive_facts(task, db), seed)


__all__ = ["DEFAULT_ERROR_RATES", "ERROR_MODES", "make_policy", "make_user"]
