"""Airline's explorer knowledge: the family goals, and an exploration's write as a blueprint.

The write becomes a :class:`~taskforge.synthesis.blueprints.Request` described from the
reservation as it was before it; the blueprint is kept only when the situation found has the
family's difficulty (a paid bag, a certificate the user holds, a usable original method...).
"""

from __future__ import annotations

import random
from typing import Any

from taskforge.domains.airline.blueprints import (
    BAG_FEE,
    STATUS,
    assemble_blueprint,
    cancel_reason,
    method_words,
    price_change,
)
from taskforge.env.db import Database, Record
from taskforge.synthesis.blueprints import Blueprint, Request, with_changes
from taskforge.synthesis.grounding import Call

EXPLORER = "llm-explorer-v1"
"""The explorer's name in the blueprints' knobs."""
EXPLORER_GOALS: dict[str, str] = {
    "flight_change": (
        "move one flight of one of this user's upcoming reservations (not basic economy) to "
        "the same flight on another date, searching the route first (search_direct_flight)."
    ),
    "cabin_change": "move one of this user's upcoming reservations to another cabin.",
    "baggage_update": (
        "add checked bags to one of this user's upcoming reservations, beyond the free "
        "allowance of their tier, paid with a card that did not pay the reservation."
    ),
    "payment_choice": (
        "make a paying change (bags or cabin) on a reservation of this user, who holds a "
        "travel certificate, paying with a credit card or gift card."
    ),
    "passenger_update": (
        "replace one passenger of a reservation of this user with two or three passengers by "
        "one of their saved passengers."
    ),
    "unconfirmed_change": (
        "make a change that costs more on a reservation of this user, paid with another "
        "method than the one that paid the reservation."
    ),
    "cancellation": (
        "cancel an upcoming reservation of this user that the policy allows cancelling "
        "(business cabin, booked within 24 hours, or insured)."
    ),
}


def _flights_request(r: Record, args: dict[str, Any], payment: str) -> Request:
    pairs = [(f["flight_number"], f["date"]) for f in args["flights"]]
    old = [(f["flight_number"], f["date"]) for f in r["flights"]]
    facts = {
        "cabin": args["cabin"],
        "old_cabin": r["cabin"],
        "old_flights": [p for p in old if p not in pairs],
        "new_flights": [p for p in pairs if p not in old],
    }
    return Request(
        "update_reservation_flights", r["reservation_id"], STATUS, payment=payment, facts=facts
    )


def request_of(db: Database, name: str, args: dict[str, Any]) -> Request | None:
    """The request behind one write, from the reservation before it (None: not a write on an
    existing reservation)."""
    r = db.tables["reservations"].get(str(args.get("reservation_id")))
    if r is None:
        return None
    rid, methods = r["reservation_id"], db.tables["users"][r["user_id"]]["payment_methods"]
    method = methods.get(str(args.get("payment_id")))
    payment = method_words(method) if method else None
    if name == "cancel_reservation":
        return Request(name, rid, STATUS, reason=cancel_reason(r))
    if name == "update_reservation_flights" and payment:
        return _flights_request(r, args, payment)
    if name == "update_reservation_baggages" and payment:
        paid, total = args["nonfree_baggages"], args["total_baggages"]
        fee = BAG_FEE * max(0, paid - r["nonfree_baggages"])
        facts = {"total": total, "paid": paid, "added": total - r["total_baggages"], "fee": fee}
        return Request(name, rid, STATUS, payment=payment, facts=facts)
    if name == "update_reservation_passengers":
        changed = [
            (a, b) for a, b in zip(r["passengers"], args["passengers"], strict=False) if a != b
        ]
        if len(changed) != 1:
            return None
        old, new = changed[0]
        return Request(
            name,
            rid,
            STATUS,
            facts={"old": f"{old['first_name']} {old['last_name']}", "new": dict(new)},
        )
    return None


def _cost(db: Database, r: Record, request: Request, args: dict[str, Any]) -> int:
    if request.tool == "update_reservation_baggages":
        return int(request.facts["fee"])
    if request.tool == "update_reservation_flights":
        return price_change(db, r, args["cabin"], args["flights"])
    return 0


def _fits(db: Database, family: str, request: Request, args: dict[str, Any]) -> bool:
    """Whether the write has the family's shape and difficulty."""
    r = db.tables["reservations"][request.order_id]
    methods = db.tables["users"][r["user_id"]]["payment_methods"]
    cost, facts = _cost(db, r, request, args), request.facts
    paying = cost > 0 and args.get("payment_id") != r["payment_history"][0]["payment_id"]
    shapes = {
        "flight_change": bool(facts.get("new_flights")) and facts.get("cabin") == r["cabin"],
        "cabin_change": facts.get("cabin") not in (None, r["cabin"])
        and not facts.get("new_flights"),
        "baggage_update": request.tool == "update_reservation_baggages" and cost > 0,
        "payment_choice": paying and any(m["source"] == "certificate" for m in methods.values()),
        "unconfirmed_change": paying and r["payment_history"][0]["payment_id"] in methods,
        "passenger_update": request.tool == "update_reservation_passengers",
        "cancellation": request.tool == "cancel_reservation" and request.reason is not None,
    }
    return shapes.get(family, False)


def blueprint_from_writes(
    db: Database, family: str, user: Record, writes: list[Call], rng: random.Random
) -> Blueprint | None:
    """The blueprint of an exploration's one write, when it fits ``family``."""
    if len(writes) != 1:
        return None
    name, args = writes[0]
    request = request_of(db, name, args)
    if request is None or not _fits(db, family, request, args):
        return None
    r = db.tables["reservations"][request.order_id]
    if r["user_id"] != user["user_id"]:
        return None
    if family in ("payment_choice", "unconfirmed_change"):
        original = user["payment_methods"].get(r["payment_history"][0]["payment_id"])
        if original is not None:
            request = with_changes(request, original_payment=method_words(original))
    return assemble_blueprint(family, db, r, [(request, [(name, args)])], source=EXPLORER)


__all__ = ["EXPLORER", "EXPLORER_GOALS", "blueprint_from_writes", "request_of"]
