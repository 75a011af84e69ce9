"""Airline's unguided candidates for ``taskforge bench synthesis``'s baseline.

A random write tool on a random reservation, with random arguments (any cabin, flight date, bag
count, saved passenger or payment method of the user): what synthesis costs without samplers
that query the DB for feasible, determinable situations.
"""

from __future__ import annotations

import random
from typing import Any

from taskforge.domains.airline.blueprints import assemble_blueprint
from taskforge.domains.airline.explore import request_of
from taskforge.domains.airline.models import CABINS
from taskforge.env.db import Database, Record
from taskforge.synthesis.blueprints import Blueprint
from taskforge.synthesis.grounding import Call

UNGUIDED_TOOLS = (
    "cancel_reservation",
    "update_reservation_flights",
    "update_reservation_baggages",
    "update_reservation_passengers",
)


def _random_write(db: Database, r: Record, rng: random.Random) -> Call | None:
    """A write of a random tool on ``r`` with random arguments (None: nothing to pick from)."""
    user = db.tables["users"][r["user_id"]]
    tool, rid = rng.choice(UNGUIDED_TOOLS), r["reservation_id"]
    pay = rng.choice(sorted(user["payment_methods"]))
    if tool == "cancel_reservation":
        return tool, {"reservation_id": rid}
    if tool == "update_reservation_baggages":
        total = r["total_baggages"] + rng.randint(1, 3)
        paid = rng.randint(r["nonfree_baggages"], total)
        return tool, {
            "reservation_id": rid,
            "total_baggages": total,
            "nonfree_baggages": paid,
            "payment_id": pay,
        }
    if tool == "update_reservation_passengers":
        if not user["saved_passengers"]:
            return None
        people = [dict(p) for p in r["passengers"]]
        people[rng.randrange(len(people))] = dict(rng.choice(user["saved_passengers"]))
        return tool, {"reservation_id": rid, "passengers": people}
    flights: list[dict[str, Any]] = [
        {"flight_number": f["flight_number"], "date": f["date"]} for f in r["flights"]
    ]
    seg = rng.choice(flights)
    seg["date"] = rng.choice(sorted(db.tables["flights"][seg["flight_number"]]["dates"]))
    return tool, {
        "reservation_id": rid,
        "cabin": rng.choice(CABINS),
        "flights": flights,
        "payment_id": pay,
    }


def unguided_blueprint(db: Database, rng: random.Random) -> Blueprint | None:
    """One ungrounded candidate: a random reservation's random write (None when it cannot be
    worded)."""
    reservations = db.tables["reservations"]
    r = reservations[rng.choice(sorted(reservations))]
    write = _random_write(db, r, rng)
    request = request_of(db, *write) if write else None
    if write is None or request is None:
        return None
    bp = assemble_blueprint("cancellation", db, r, [(request, [write])], source="unguided")
    if bp is None:
        return None
    from dataclasses import replace

    return replace(bp, family="unguided", pattern="unguided")


__all__ = ["UNGUIDED_TOOLS", "unguided_blueprint"]
