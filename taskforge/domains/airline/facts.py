"""What an Airline user wants, and the words the scripted user and policy share for it.

A :class:`Request` is derived from a task's gold write (or its communicate info) and the DB;
the scripted user states it with :func:`request_text`, the scripted policy reads it back with
:func:`parse_request`. The phrasing is fixed so that the policy parses it without the gold.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from taskforge.contracts import Task
from taskforge.env.db import Database, Record

INFO_KIND = "information_request"
PAYING_KINDS = frozenset({"update_reservation_baggages", "update_reservation_flights"})
"""Write kinds that charge a payment method (the certificate-vs-card error applies)."""
CABIN_WORDS = {"business": "business", "economy": "economy", "basic_economy": "basic economy"}

_USER_RE = re.compile(r"my user id is (\w+)", re.IGNORECASE)
_RES = r"reservation ([A-Z0-9]{6})"
_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("cancel_reservation", re.compile(rf"cancel my {_RES}")),
    (
        "update_reservation_baggages",
        re.compile(rf"bags on {_RES}: (\d+) checked bags in total, (\d+) of them paid"),
    ),
    ("cabin", re.compile(rf"cabin of {_RES} to (business|economy|basic economy)\b")),
    (
        "flight",
        re.compile(rf"move {_RES} from flight (\w+) on ([\d-]+) to flight (\w+) on ([\d-]+)"),
    ),
    (
        "update_reservation_passengers",
        re.compile(
            rf"On {_RES}, please replace passenger (\w+) (\w+) with (\w+) (\w+), born ([\d-]+)"
        ),
    ),
    (INFO_KIND, re.compile(rf"pay in total for {_RES}")),
)
_PAY_RE = re.compile(r"with my payment method (\w+)")


@dataclass(frozen=True)
class Request:
    """One request of an Airline user (the fields its kind uses; the others stay empty)."""

    kind: str
    reservation_id: str
    cabin: str | None = None
    old_flight: tuple[str, str] | None = None
    new_flight: tuple[str, str] | None = None
    bags: tuple[int, int] | None = None
    old_passenger: tuple[str, str] | None = None
    new_passenger: dict[str, str] | None = None
    payment_id: str | None = None
    answer: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class UserFacts:
    """What the scripted user knows: the user id and the request."""

    user_id: str
    request: Request


def user_id_in(text: str) -> str | None:
    """The user id a message states, or None."""
    found = _USER_RE.search(text)
    return found.group(1) if found else None


def request_text(request: Request) -> str:
    """The user's words for ``request`` (parsed back by :func:`parse_request`)."""
    rid, kind = request.reservation_id, request.kind
    pay = f" Please charge it with my payment method {request.payment_id}."
    if kind == "cancel_reservation":
        return f"I want to cancel my reservation {rid}."
    if kind == "update_reservation_baggages" and request.bags:
        total, paid = request.bags
        counts = f"{total} checked bags in total, {paid} of them paid"
        return f"Please set the bags on reservation {rid}: {counts}.{pay}"
    if kind == "update_reservation_flights" and request.cabin:
        return (
            f"I want to change the cabin of reservation {rid} to {CABIN_WORDS[request.cabin]}.{pay}"
        )
    if kind == "update_reservation_flights" and request.old_flight and request.new_flight:
        (f1, d1), (f2, d2) = request.old_flight, request.new_flight
        return (
            f"Please move reservation {rid} from flight {f1} on {d1} to flight {f2} on {d2}.{pay}"
        )
    if kind == "update_reservation_passengers" and request.old_passenger and request.new_passenger:
        new = request.new_passenger
        old = " ".join(request.old_passenger)
        return (
            f"On reservation {rid}, please replace passenger {old} with "
            f"{new['first_name']} {new['last_name']}, born {new['dob']}."
        )
    return f"How much did I pay in total for reservation {rid}?"


def parse_request(text: str) -> Request | None:
    """The request a user message states (inverse of :func:`request_text`), or None."""
    paid = _PAY_RE.search(text)
    payment = paid.group(1) if paid else None
    for kind, pattern in _PATTERNS:
        found = pattern.search(text)
        if found is None:
            continue
        g = found.groups()
        if kind == "update_reservation_baggages":
            return Request(kind, g[0], bags=(int(g[1]), int(g[2])), payment_id=payment)
        if kind == "cabin":
            cabin = {v: k for k, v in CABIN_WORDS.items()}[g[1]]
            return Request("update_reservation_flights", g[0], cabin=cabin, payment_id=payment)
        if kind == "flight":
            return Request(
                "update_reservation_flights",
                g[0],
                old_flight=(g[1], g[2]),
                new_flight=(g[3], g[4]),
                payment_id=payment,
            )
        if kind == "update_reservation_passengers":
            new = {"first_name": g[3], "last_name": g[4], "dob": g[5]}
            return Request(kind, g[0], old_passenger=(g[1], g[2]), new_passenger=new)
        return Request(kind, g[0])
    return None


def expected_details(request: Request) -> list[str]:
    """Fragments a confirmation of ``request`` must contain for the user to say yes."""
    out = [request.reservation_id]
    if request.cabin:
        out.append(CABIN_WORDS[request.cabin])
    if request.new_flight:
        out.extend(request.new_flight)
    if request.bags:
        out.extend([f"{request.bags[0]} checked bags", f"{request.bags[1]} paid"])
    if request.new_passenger:
        out.extend(request.new_passenger.values())
    if request.payment_id:
        out.append(request.payment_id)
    return out


def total_paid(reservation: Record) -> int:
    """What a reservation's payments add up to, in whole dollars."""
    return int(sum(p["amount"] for p in reservation["payment_history"]))


def derive_facts(task: Task, db: Database) -> UserFacts:
    """The user's facts for a seed task: from its gold actions and the DB it starts on."""
    actions = task.gold_actions()
    user_id = next(str(a.arguments["user_id"]) for a in actions if "user_id" in a.arguments)
    rid = next(
        str(a.arguments["reservation_id"]) for a in actions if "reservation_id" in a.arguments
    )
    last = actions[-1]
    reservation = db.tables["reservations"][rid]
    return UserFacts(user_id, _request_of(last.name, dict(last.arguments), reservation))


def _request_of(name: str, args: dict[str, Any], reservation: Record) -> Request:
    rid = reservation["reservation_id"]
    payment = args.get("payment_id")
    if name == "update_reservation_baggages":
        bags = (int(args["total_baggages"]), int(args["nonfree_baggages"]))
        return Request(name, rid, bags=bags, payment_id=payment)
    if name == "update_reservation_flights":
        if args["cabin"] != reservation["cabin"]:
            return Request(name, rid, cabin=args["cabin"], payment_id=payment)
        old = {(f["flight_number"], f["date"]) for f in reservation["flights"]}
        new = [(f["flight_number"], f["date"]) for f in args["flights"]]
        gone = [
            (f["flight_number"], f["date"])
            for f in reservation["flights"]
            if (f["flight_number"], f["date"]) not in set(new)
        ]
        added = [pair for pair in new if pair not in old]
        return Request(name, rid, old_flight=gone[0], new_flight=added[0], payment_id=payment)
    if name == "update_reservation_passengers":
        index = next(
            i
            for i, (a, b) in enumerate(
                zip(args["passengers"], reservation["passengers"], strict=True)
            )
            if a != b
        )
        before = reservation["passengers"][index]
        return Request(
            name,
            rid,
            old_passenger=(before["first_name"], before["last_name"]),
            new_passenger=dict(args["passengers"][index]),
        )
    if name == "cancel_reservation":
        return Request(name, rid)
    return Request(INFO_KIND, rid, answer=str(total_paid(reservation)))
