"""Airline's blueprint samplers: one failure family per error mode of the scripted policy.

A sampler queries an Airline DB for a situation that invites one known agent failure and builds
the gold action sequence for it (``get_user_details``, ``get_reservation_details``, the reads a
careful agent makes, the write); the template writer then words it. Every request names its
reservation by id (Airline users give it) and every paying change is charged to a method that
is not the reservation's original one. The families (:data:`SAMPLERS`, open to new ones through
:func:`register_sampler`):

* ``flight_change`` - move one flight of a reservation to another date on which the same flight
  is also bookable the day after (or another direct flight of the route that day), so that a
  near-miss booking goes through (provokes ``wrong_flight``);
* ``cabin_change`` - move a reservation to another cabin, the third cabin bookable too
  (``wrong_cabin``);
* ``baggage_update`` - add paid checked bags beyond the tier's free allowance (``wrong_baggage``);
* ``payment_choice`` - a paying change (bags or cabin) for a user who holds a travel certificate
  that the tools refuse for changes, paid with the card the user names (``wrong_payment``);
* ``passenger_update`` - replace one passenger of a reservation with two or three, by a saved
  passenger of the user (``wrong_passenger``);
* ``unconfirmed_change`` - a change that costs more, paid with a method that is not the
  reservation's original one while the original is still usable, so that a write made without
  confirming (with the original) goes through and is wrong (``skip_confirmation``);
* ``cancellation`` - cancel a reservation the policy lets the user cancel (business cabin,
  booked within 24 hours, or insured with a covered reason); the one write must really be made
  (``early_stop``).

Every blueprint is checked by replaying its gold actions on a fresh copy of the DB.
"""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from typing import Any

from taskforge.domains.airline.facts import CABIN_WORDS
from taskforge.domains.airline.models import CABINS
from taskforge.domains.airline.tools import BAG_FEE, NOW
from taskforge.env.db import Database, Record
from taskforge.synthesis.blueprints import Blueprint, Identity, Request, Sampler, with_changes
from taskforge.synthesis.grounding import Call

FAMILY_PATTERNS: dict[str, str] = {
    "flight_change": "wrong_flight",
    "cabin_change": "wrong_cabin",
    "baggage_update": "wrong_baggage",
    "payment_choice": "wrong_payment",
    "passenger_update": "wrong_passenger",
    "unconfirmed_change": "skip_confirmation",
    "cancellation": "early_stop",
}
"""The scripted-policy error mode each family targets."""
PATTERN_MECHANISMS: dict[str, frozenset[str]] = {
    "wrong_flight": frozenset({"wrong_argument"}),
    "wrong_cabin": frozenset({"wrong_argument"}),
    "wrong_baggage": frozenset({"wrong_argument"}),
    "wrong_payment": frozenset({"wrong_argument", "failed_write"}),
    "wrong_passenger": frozenset({"wrong_argument"}),
    "skip_confirmation": frozenset({"skip_confirmation"}),
    "early_stop": frozenset({"early_stop", "missing_write"}),
}
"""The diagnostic judge's mechanisms a mined pattern of each error mode has (the loop targets a
family when a mined pattern has one of them)."""
FREE_BAGS = {
    "regular": {"basic_economy": 0, "economy": 1, "business": 2},
    "silver": {"basic_economy": 1, "economy": 2, "business": 3},
    "gold": {"basic_economy": 2, "economy": 3, "business": 4},
}
"""Free checked bags per passenger, by membership tier and cabin (the policy's table)."""
STATUS = "active"
"""A reservation's status in words when it is not cancelled."""

_FLIGHTS = "update_reservation_flights"
_BAGS = "update_reservation_baggages"
_PASSENGERS = "update_reservation_passengers"
_CANCEL = "cancel_reservation"
Part = tuple[Request, list[Call]]

SAMPLERS: dict[str, Sampler] = {}
"""Blueprint samplers by family: each makes one random attempt and returns None on a miss."""


def register_sampler(name: str, fn: Sampler, pattern: str | None = None) -> None:
    """Register a blueprint sampler for a new (or replaced) family.

    Args:
        name: Family name.
        fn: ``fn(db, rng)`` returning a :class:`Blueprint` or None when the attempt missed.
        pattern: The failure pattern the family targets, if not already known.
    """
    SAMPLERS[name] = fn
    if pattern is not None:
        FAMILY_PATTERNS[name] = pattern


# -- shared helpers ---------------------------------------------------------------------------


def future(reservation: Record) -> bool:
    """Whether a reservation is active and none of its flights has departed."""
    return reservation["status"] is None and all(
        f["date"] > NOW[:10] for f in reservation["flights"]
    )


def _random_reservation(db: Database, rng: random.Random) -> Record | None:
    reservations = db.tables["reservations"]
    picked = reservations[rng.choice(sorted(reservations))]
    return picked if future(picked) else None


def payers(user: Record, reservation: Record, amount: float) -> list[str]:
    """The user's methods other than the original that can pay ``amount`` for a change."""
    original = reservation["payment_history"][0]["payment_id"]
    return [
        pid
        for pid, m in sorted(user["payment_methods"].items())
        if pid != original
        and m["source"] != "certificate"
        and (m["source"] == "credit_card" or m["amount"] >= amount)
    ]


def method_words(method: Record) -> str:
    """A payment method in words, with its id (the id is what the tools take)."""
    if method["source"] == "credit_card":
        return (
            f"your {method['brand']} credit card ending in {method['last_four']} ({method['id']})"
        )
    kind = "gift card" if method["source"] == "gift_card" else "travel certificate"
    return f"your {kind} {method['id']}"


def assemble_blueprint(
    family: str, db: Database, reservation: Record, parts: list[Part], **knobs: str
) -> Blueprint | None:
    """A blueprint: the user's and the reservation's reads, then each request's calls."""
    if not parts:
        return None
    user = db.tables["users"][reservation["user_id"]]
    uid, rid = user["user_id"], reservation["reservation_id"]
    actions: list[Call] = [
        ("get_user_details", {"user_id": uid}),
        ("get_reservation_details", {"reservation_id": rid}),
    ]
    for _, calls in parts:
        actions += calls
    name = user["name"]
    return Blueprint(
        family=family,
        pattern=FAMILY_PATTERNS[family],
        user_id=uid,
        identity=Identity(name["first_name"], name["last_name"], user_id=uid),
        actions=tuple(actions),
        requests=tuple(r for r, _ in parts),
        knobs={"identity": "user_id", **knobs},
        domain="airline",
    )


def _segments(flights: list[Record]) -> list[dict[str, str]]:
    return [{"flight_number": f["flight_number"], "date": f["date"]} for f in flights]


def _flights_part(
    db: Database, reservation: Record, cabin: str, flights: list[dict[str, str]], pay: str
) -> Part:
    """A flight or cabin change: its request and the write."""
    rid, user = reservation["reservation_id"], db.tables["users"][reservation["user_id"]]
    args = {"reservation_id": rid, "cabin": cabin, "flights": flights, "payment_id": pay}
    facts: dict[str, Any] = {"cabin": cabin, "old_cabin": reservation["cabin"]}
    old = {(f["flight_number"], f["date"]) for f in reservation["flights"]}
    facts["old_flights"] = [
        (f["flight_number"], f["date"])
        for f in reservation["flights"]
        if (f["flight_number"], f["date"]) not in {(g["flight_number"], g["date"]) for g in flights}
    ]
    facts["new_flights"] = [
        (f["flight_number"], f["date"])
        for f in flights
        if (f["flight_number"], f["date"]) not in old
    ]
    payment = method_words(user["payment_methods"][pay])
    return Request(_FLIGHTS, rid, STATUS, payment=payment, facts=facts), [(_FLIGHTS, args)]


def price_change(db: Database, reservation: Record, cabin: str, flights: list[Record]) -> int:
    """What a change to ``cabin`` on ``flights`` costs (negative: a refund); flights kept in
    the same cabin keep their price."""
    n, total = len(reservation["passengers"]), 0
    kept = {(f["flight_number"], f["date"]): f["price"] for f in reservation["flights"]}
    for f in flights:
        key = (f["flight_number"], f["date"])
        if cabin == reservation["cabin"] and key in kept:
            total += kept[key]
        else:
            total += db.tables["flights"][key[0]]["dates"][key[1]]["prices"][cabin]
    return (total - sum(kept.values())) * n


def bookable(db: Database, number: str, day: str, cabin: str, n: int) -> bool:
    """Whether flight ``number`` can be booked on ``day`` in ``cabin`` for ``n`` passengers."""
    status = db.tables["flights"][number]["dates"].get(day)
    return (
        status is not None
        and status["status"] == "available"
        and status["available_seats"][cabin] >= n
    )


# -- flight_change ----------------------------------------------------------------------------


def _next_day(day: str) -> str:
    return (date.fromisoformat(day) + timedelta(days=1)).isoformat()


def _route_flights(db: Database, flight: Record) -> list[str]:
    return sorted(
        number
        for number, f in db.tables["flights"].items()
        if (f["origin"], f["destination"]) == (flight["origin"], flight["destination"])
    )


def _new_dates(db: Database, r: Record, index: int) -> list[tuple[str, str, str]]:
    """(flight, date, near miss) for moving segment ``index``: the same flight on a later
    bookable date with a bookable near miss (the day after, or another flight of the route
    that day), the legs staying in order."""
    seg, cabin, n = r["flights"][index], r["cabin"], len(r["passengers"])
    after = r["flights"][index + 1]["date"] if index + 1 < len(r["flights"]) else "9999"
    before = r["flights"][index - 1]["date"] if index else NOW[:10]
    out = []
    for day in sorted(db.tables["flights"][seg["flight_number"]]["dates"]):
        if not (before < day < after and day != seg["date"] and _next_day(day) < after):
            continue
        if not bookable(db, seg["flight_number"], day, cabin, n):
            continue
        others = [
            x
            for x in _route_flights(db, seg)
            if x != seg["flight_number"] and bookable(db, x, day, cabin, n)
        ]
        if others:
            out.append((seg["flight_number"], day, f"{others[0]} on {day}"))
        elif bookable(db, seg["flight_number"], _next_day(day), cabin, n):
            out.append((seg["flight_number"], day, f"{seg['flight_number']} on {_next_day(day)}"))
    return out


def sample_flight_change(db: Database, rng: random.Random) -> Blueprint | None:
    """Move one flight of a (not basic economy) reservation to another date, with a bookable
    near-miss booking next to the right one."""
    r = _random_reservation(db, rng)
    if r is None or r["cabin"] == "basic_economy":
        return None
    index = rng.randrange(len(r["flights"]))
    options = _new_dates(db, r, index)
    if not options:
        return None
    number, day, near = rng.choice(options)
    flights = _segments(r["flights"])
    flights[index] = {"flight_number": number, "date": day}
    cost = price_change(db, r, r["cabin"], flights)
    pay = payers(db.tables["users"][r["user_id"]], r, max(cost, 0))
    if not pay:
        return None
    seg = r["flights"][index]
    search: Call = (
        "search_direct_flight",
        {"origin": seg["origin"], "destination": seg["destination"], "date": day},
    )
    request, calls = _flights_part(db, r, r["cabin"], flights, rng.choice(pay))
    return assemble_blueprint(
        "flight_change", db, r, [(request, [search, *calls])], near_miss=near, price=str(cost)
    )


# -- cabin_change, payment_choice, unconfirmed_change -----------------------------------------


def _cabin_options(db: Database, r: Record) -> list[tuple[str, int]]:
    """(new cabin, cost) of each cabin the whole reservation can move to."""
    n = len(r["passengers"])
    return [
        (cabin, price_change(db, r, cabin, r["flights"]))
        for cabin in CABINS
        if cabin != r["cabin"]
        and all(bookable(db, f["flight_number"], f["date"], cabin, n) for f in r["flights"])
    ]


def cabin_part(db: Database, r: Record, rng: random.Random, pay_ok: Any) -> tuple[Part, int] | None:
    """A cabin change of ``r`` paid by a method ``pay_ok(user, r, cost)`` allows; its cost."""
    options = _cabin_options(db, r)
    if not options:
        return None
    cabin, cost = rng.choice(options)
    pay = pay_ok(db.tables["users"][r["user_id"]], r, cost)
    if not pay:
        return None
    return _flights_part(db, r, cabin, _segments(r["flights"]), rng.choice(pay)), cost


def sample_cabin_change(db: Database, rng: random.Random) -> Blueprint | None:
    """Move every flight of a reservation to another cabin (the third one bookable too)."""
    r = _random_reservation(db, rng)
    found = cabin_part(db, r, rng, lambda u, res, c: payers(u, res, max(c, 0))) if r else None
    if r is None or found is None or len(_cabin_options(db, r)) < 2:
        return None
    part, cost = found
    third = next(c for c in CABINS if c not in (r["cabin"], part[0].facts["cabin"]))
    return assemble_blueprint(
        "cabin_change", db, r, [part], near_miss=CABIN_WORDS[third], price=str(cost)
    )


def _certificate_holder(user: Record) -> bool:
    return any(m["source"] == "certificate" for m in user["payment_methods"].values())


def bags_part(db: Database, r: Record, rng: random.Random, pay_ok: Any) -> tuple[Part, int] | None:
    """One or two added bags beyond the free allowance, paid by a method ``pay_ok`` allows."""
    user = db.tables["users"][r["user_id"]]
    free = FREE_BAGS[user["membership"]][r["cabin"]] * len(r["passengers"])
    total = r["total_baggages"] + rng.choice((1, 2))
    paid = max(r["nonfree_baggages"], total - free)
    fee = BAG_FEE * (paid - r["nonfree_baggages"])
    pay = pay_ok(user, r, fee)
    if fee <= 0 or not pay:
        return None
    pid, rid = rng.choice(pay), r["reservation_id"]
    args = {
        "reservation_id": rid,
        "total_baggages": total,
        "nonfree_baggages": paid,
        "payment_id": pid,
    }
    facts = {"total": total, "paid": paid, "added": total - r["total_baggages"], "fee": fee}
    payment = method_words(user["payment_methods"][pid])
    return (Request(_BAGS, rid, STATUS, payment=payment, facts=facts), [(_BAGS, args)]), fee


def sample_baggage_update(db: Database, rng: random.Random) -> Blueprint | None:
    """Add one or two checked bags, at least one beyond the free allowance (a fee to pay)."""
    r = _random_reservation(db, rng)
    found = bags_part(db, r, rng, lambda u, res, c: payers(u, res, c)) if r else None
    if r is None or found is None:
        return None
    part, fee = found
    return assemble_blueprint("baggage_update", db, r, [part], fee=str(fee))


def sample_payment_choice(db: Database, rng: random.Random) -> Blueprint | None:
    """A paying change (bags or cabin) for a holder of a travel certificate, which the tools
    refuse for changes, paid with the card or gift card the user names."""
    r = _random_reservation(db, rng)
    if r is None or not _certificate_holder(db.tables["users"][r["user_id"]]):
        return None
    make = rng.choice((bags_part, cabin_part))
    found = make(db, r, rng, lambda u, res, c: payers(u, res, c) if c > 0 else [])
    if found is None:
        return None
    (request, calls), cost = found
    methods = db.tables["users"][r["user_id"]]["payment_methods"]
    certificate = next(m for _, m in sorted(methods.items()) if m["source"] == "certificate")
    request = with_changes(request, original_payment=method_words(certificate))
    return assemble_blueprint(
        "payment_choice", db, r, [(request, calls)], change=request.tool, price=str(cost)
    )


def _original_usable(user: Record, r: Record, cost: int) -> bool:
    """Whether the reservation's original method could pay ``cost`` for a change."""
    method = user["payment_methods"].get(r["payment_history"][0]["payment_id"])
    if method is None or method["source"] == "certificate":
        return False
    return method["source"] == "credit_card" or method["amount"] >= cost


def sample_unconfirmed_change(db: Database, rng: random.Random) -> Blueprint | None:
    """A change that costs more, paid with another method than the reservation's original one,
    which could pay it too: an unconfirmed write with the original goes through, and is wrong."""
    r = _random_reservation(db, rng)
    if r is None:
        return None
    make = rng.choice((bags_part, cabin_part))
    found = make(
        db,
        r,
        rng,
        lambda u, res, c: payers(u, res, c) if c > 0 and _original_usable(u, res, c) else [],
    )
    if found is None:
        return None
    (request, calls), cost = found
    methods = db.tables["users"][r["user_id"]]["payment_methods"]
    original = methods[r["payment_history"][0]["payment_id"]]
    request = with_changes(request, original_payment=method_words(original))
    return assemble_blueprint(
        "unconfirmed_change", db, r, [(request, calls)], change=request.tool, price=str(cost)
    )


# -- passenger_update -------------------------------------------------------------------------


def sample_passenger_update(db: Database, rng: random.Random) -> Blueprint | None:
    """Replace one of two or three passengers with a saved passenger of the user."""
    r = _random_reservation(db, rng)
    if r is None or len(r["passengers"]) < 2:
        return None
    names = {(p["first_name"], p["last_name"]) for p in r["passengers"]}
    saved = db.tables["users"][r["user_id"]]["saved_passengers"]
    fresh = [p for p in saved if (p["first_name"], p["last_name"]) not in names]
    if not fresh:
        return None
    index, new = rng.randrange(len(r["passengers"])), dict(rng.choice(fresh))
    old = r["passengers"][index]
    people = [dict(p) for p in r["passengers"]]
    people[index] = new
    rid = r["reservation_id"]
    facts = {"old": f"{old['first_name']} {old['last_name']}", "new": new}
    request = Request(_PASSENGERS, rid, STATUS, facts=facts)
    call: Call = (_PASSENGERS, {"reservation_id": rid, "passengers": people})
    return assemble_blueprint(
        "passenger_update", db, r, [(request, [call])], n_passengers=str(len(people))
    )


# -- cancellation -----------------------------------------------------------------------------


def cancel_reason(r: Record) -> str | None:
    """Why the policy lets the user cancel ``r`` (None: it does not)."""
    booked = datetime.fromisoformat(r["created_at"])
    if datetime.fromisoformat(NOW) - booked <= timedelta(hours=24):
        return "change of plan"
    if r["cabin"] == "business":
        return "change of plan"
    return "health" if r["insurance"] == "yes" else None


def sample_cancellation(db: Database, rng: random.Random) -> Blueprint | None:
    """Cancel a reservation the policy allows cancelling, with the reason the user gives."""
    r = _random_reservation(db, rng)
    reason = cancel_reason(r) if r else None
    if r is None or reason is None:
        return None
    rid = r["reservation_id"]
    request = Request(_CANCEL, rid, STATUS, reason=reason)
    call: Call = (_CANCEL, {"reservation_id": rid})
    return assemble_blueprint("cancellation", db, r, [(request, [call])], reason=reason)


register_sampler("flight_change", sample_flight_change)
register_sampler("cabin_change", sample_cabin_change)
register_sampler("baggage_update", sample_baggage_update)
register_sampler("payment_choice", sample_payment_choice)
register_sampler("passenger_update", sample_passenger_update)
register_sampler("unconfirmed_change", sample_unconfirmed_change)
register_sampler("cancellation", sample_cancellation)

__all__ = [
    "FAMILY_PATTERNS",
    "FREE_BAGS",
    "PATTERN_MECHANISMS",
    "SAMPLERS",
    "assemble_blueprint",
    "bookable",
    "cancel_reason",
    "future",
    "method_words",
    "payers",
    "price_change",
    "register_sampler",
]
