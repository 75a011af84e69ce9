"""Retail's synthesis knowledge, as the synthesis stage asks for it (``SynthesisKit``)."""

from __future__ import annotations

from taskforge.domains.retail.blueprints import FAMILY_PATTERNS, SAMPLERS, register_sampler
from taskforge.domains.retail.explore import EXPLORER_GOALS, blueprint_from_writes
from taskforge.domains.retail.phrasing import ask
from taskforge.domains.retail.seed import sample_seed_tasks
from taskforge.domains.retail.tools import LOOSE_PENDING_TOOLS, REQUIRED_ORDER_STATUS
from taskforge.domains.retail.unguided import unguided_blueprint


def status_ok(tool: str, status: str) -> bool:
    """Whether an order in ``status`` is one that ``tool`` can act on."""
    wanted = REQUIRED_ORDER_STATUS.get(tool)
    if not wanted:
        return False
    return wanted in status if tool in LOOSE_PENDING_TOOLS else status == wanted


__all__ = [
    "EXPLORER_GOALS",
    "FAMILY_PATTERNS",
    "SAMPLERS",
    "ask",
    "blueprint_from_writes",
    "register_sampler",
    "sample_seed_tasks",
    "status_ok",
    "unguided_blueprint",
]
