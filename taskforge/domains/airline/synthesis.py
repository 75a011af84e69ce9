"""Airline's synthesis knowledge, as the synthesis stage asks for it (``SynthesisKit``)."""

from __future__ import annotations

from taskforge.domains.airline.blueprints import (
    FAMILY_PATTERNS,
    PATTERN_MECHANISMS,
    SAMPLERS,
    register_sampler,
)
from taskforge.domains.airline.checks import (
    RECORD_ARG,
    RECORD_TABLE,
    failure_pattern,
    identity_given,
    record_names,
    write_problems,
)
from taskforge.domains.airline.explore import EXPLORER_GOALS, blueprint_from_writes
from taskforge.domains.airline.phrasing import ENDINGS, PURPOSES, WRAPS, ask
from taskforge.domains.airline.seed import sample_seed_tasks
from taskforge.domains.airline.unguided import unguided_blueprint

WRITE_TOOLS = frozenset(
    {
        "cancel_reservation",
        "update_reservation_baggages",
        "update_reservation_flights",
        "update_reservation_passengers",
    }
)
"""The writes that act on an existing reservation (only while it is active)."""


def status_ok(tool: str, status: str | None) -> bool:
    """Whether a reservation in ``status`` (None: active) is one ``tool`` can act on."""
    return tool in WRITE_TOOLS and status is None


__all__ = [
    "ENDINGS",
    "EXPLORER_GOALS",
    "FAMILY_PATTERNS",
    "PATTERN_MECHANISMS",
    "PURPOSES",
    "RECORD_ARG",
    "RECORD_TABLE",
    "SAMPLERS",
    "WRAPS",
    "ask",
    "blueprint_from_writes",
    "failure_pattern",
    "identity_given",
    "record_names",
    "register_sampler",
    "sample_seed_tasks",
    "status_ok",
    "unguided_blueprint",
    "write_problems",
]
