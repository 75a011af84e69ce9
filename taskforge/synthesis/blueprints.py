"""Blueprints: grounded situations that provoke one failure pattern, with their gold actions.

A domain's blueprint samplers (``SynthesisKit.SAMPLERS``, one per failure family, each with the
pattern it targets in ``SynthesisKit.FAMILY_PATTERNS``) query a DB of that domain for a
situation that invites a known agent failure and build the gold action sequence for it; the
writer (:mod:`taskforge.synthesis.writer`) then turns the blueprint into a user scenario with
the difficulty put into the wording. This module holds the records they share and the generic
machinery: sampling with disjoint targets, and the gold replay every blueprint must pass.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from taskforge.domains import domain_of
from taskforge.env.db import Database
from taskforge.env.replay import Environment
from taskforge.synthesis.grounding import Call


@dataclass(frozen=True)
class Identity:
    """How the user proves who they are: an email, a name and zip code, or their user id."""

    first_name: str
    last_name: str
    email: str | None = None
    """The email, when the scenario gives it (it is unique in the DB)."""
    zip: str | None = None
    """The zip code, when the scenario gives name and zip instead (unique in the DB)."""
    user_id: str | None = None
    """The user id, when the domain's agent authenticates by it (the scenario states it)."""


@dataclass(frozen=True)
class Request:
    """One write the user asks for, as facts for the writer (never item ids)."""

    tool: str
    order_id: str
    """The record the write acts on (a Retail order, an Airline reservation...)."""
    status: str
    """The record's status, in words ('pending', 'delivered', 'active')."""
    order_hint: str | None = None
    """Product name that singles out the order among the candidates; None: name it by id."""
    items: tuple[str, ...] = ()
    """The items acted on: product name and options."""
    new_options: tuple[str, ...] = ()
    """For swaps: the options of each new variant the user states, position by position."""
    kept_options: tuple[str, ...] = ()
    """For vague swaps: the new variant's other options, kept as on the item (said if asked)."""
    near_miss: tuple[str, ...] = ()
    """For swaps: 'option: value' the user must not get (a near-identical variant's value)."""
    payment: str | None = None
    """The payment method the write uses (pays, receives or is the new method), in words."""
    original_payment: str | None = None
    """The order's original payment method in words, when it differs from ``payment``."""
    reason: str | None = None
    """A cancellation reason (the tool's value)."""
    address: str | None = None
    """A new shipping address in words."""
    facts: dict[str, Any] = field(default_factory=dict)
    """Further facts of the domain's own requests, for its phrasing (e.g. a flight change's
    old and new flight); empty for the fields above."""


@dataclass(frozen=True)
class Blueprint:
    """A grounded situation for one failure family and its gold action sequence."""

    family: str
    pattern: str
    user_id: str
    identity: Identity
    actions: tuple[Call, ...]
    """The gold calls, identity lookup first, in order."""
    requests: tuple[Request, ...]
    knobs: dict[str, str] = field(default_factory=dict)
    """Difficulty knobs, e.g. {'order_reference': 'by_product'}."""
    domain: str = ""
    """The registered domain whose samplers made it (the writers word it with its phrasing)."""

    @property
    def targets(self) -> tuple[str, ...]:
        """The record ids (or 'user:<id>') the writes act on, each once."""
        return tuple(dict.fromkeys(r.order_id for r in self.requests))


Sampler = Callable[[Database, random.Random], "Blueprint | None"]
"""``fn(db, rng)``: one random attempt at a blueprint, None on a miss."""


def family_patterns(db: Database) -> dict[str, str]:
    """Family -> targeted failure pattern, for the domain of ``db`` (empty without samplers)."""
    domain = domain_of(db)
    return dict(domain.synthesis_kit().FAMILY_PATTERNS) if domain.has("synthesis") else {}


def sample_blueprints(
    db: Database, family: str, n: int, seed: int, max_tries: int = 400
) -> list[Blueprint]:
    """Sample up to ``n`` feasible blueprints of one family, with disjoint target orders.

    Args:
        db: A database of a domain with blueprint samplers.
        family: A key of the domain's ``SAMPLERS``.
        n: Number of blueprints wanted.
        seed: Seed of the RNG behind every choice; same arguments, same blueprints.
        max_tries: Sampler attempts per wanted blueprint before giving up.

    Returns:
        The blueprints (fewer than ``n`` only when the DB has too few situations).

    Raises:
        KeyError: Unknown family.
        DataError: The domain has no blueprint samplers.
    """
    sampler = domain_of(db).synthesis_kit().SAMPLERS[family]
    rng = random.Random(f"{family}:{seed}")
    used: set[str] = set()
    found: list[Blueprint] = []
    for _ in range(max(n, 0) * max_tries):
        if len(found) >= n:
            break
        bp = sampler(db, rng)
        if bp is None or used.intersection(bp.targets) or not gold_feasible(db, bp):
            continue
        used.update(bp.targets)
        found.append(bp)
    return found


def gold_feasible(db: Database, bp: Blueprint) -> bool:
    """Whether the gold calls replay on a fresh DB with no error and change the DB."""
    env = Environment(domain_of(db).toolkit_cls, db)
    start = env.db_hash
    for name, args in bp.actions:
        _, failed = env.execute(name, dict(args))
        if failed:
            return False
    return bool(env.db_hash != start)


def with_changes(request: Request, **changes: Any) -> Request:
    """A copy of ``request`` with some fields changed."""
    data = {k: getattr(request, k) for k in request.__dataclass_fields__}
    data.update(changes)
    return Request(**data)


__all__ = [
    "Blueprint",
    "Identity",
    "Request",
    "Sampler",
    "family_patterns",
    "gold_feasible",
    "sample_blueprints",
    "with_changes",
]
