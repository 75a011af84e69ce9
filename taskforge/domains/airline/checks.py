"""What the verifier and the targeting check ask of Airline (see ``SynthesisKit``).

Airline users prove who they are with their user id, a write acts on a reservation named by
its id, and a templated scenario must state every value a gold write takes. The diagnostic
judge calls a wrong flight, cabin, bag count, passenger or payment method alike a
``wrong_argument``; :func:`failure_pattern` names it by the argument that differs.
"""

from __future__ import annotations

import re
from typing import Any

from taskforge.domains.airline.facts import CABIN_WORDS
from taskforge.env.db import Database, Record

RECORD_TABLE = "reservations"
RECORD_ARG = "reservation_id"
ARGUMENT_PATTERNS: dict[str, str] = {
    "flights": "wrong_flight",
    "cabin": "wrong_cabin",
    "total_baggages": "wrong_baggage",
    "nonfree_baggages": "wrong_baggage",
    "passengers": "wrong_passenger",
    "payment_id": "wrong_payment",
}
"""The error mode of a wrong value of each write argument."""


def _mentions(text: str, value: str) -> bool:
    return re.search(rf"(?<!\w){re.escape(value)}(?!\w)", text, re.IGNORECASE) is not None


def identity_given(text: str, user: Record) -> bool:
    """Whether the scenario gives the user's id (the policy's authentication)."""
    return _mentions(text, str(user["user_id"]))


def record_names(record: Record) -> list[str]:
    """Words that single out a reservation besides its id: none (users name it by id)."""
    return []


def _flight_problems(text: str, args: dict[str, Any], record: Record | None) -> list[str]:
    kept = {(f["flight_number"], f["date"]) for f in (record or {}).get("flights", [])}
    missing = [] if _mentions(text, CABIN_WORDS.get(str(args.get("cabin")), "?")) else ["cabin"]
    for f in args.get("flights") or []:
        if (f["flight_number"], f["date"]) not in kept and not (
            _mentions(text, f["flight_number"]) and _mentions(text, f["date"])
        ):
            missing.append(f"flight {f['flight_number']} on {f['date']}")
    return missing


def _passenger_problems(text: str, args: dict[str, Any], record: Record | None) -> list[str]:
    before = (record or {}).get("passengers", [])
    return [
        f"passenger {p['first_name']} {p['last_name']}"
        for p in args.get("passengers") or []
        if p not in before
        and not all(_mentions(text, str(p[k])) for k in ("first_name", "last_name", "dob"))
    ]


def write_problems(
    text: str, action: Any, record: Record | None, user: Record, db: Database
) -> list[str]:
    """The values of one gold write that the scenario does not state."""
    args, missing = action.arguments, []
    pid = args.get("payment_id")
    if pid and not _mentions(text, str(pid)):
        missing.append(f"payment method {pid}")
    if action.name == "update_reservation_flights":
        missing += _flight_problems(text, args, record)
    if action.name == "update_reservation_baggages":
        if not re.search(rf"\b{args['total_baggages']} checked bags? in total", text):
            missing.append(f"total_baggages {args['total_baggages']}")
        if not re.search(rf"\b{args['nonfree_baggages']} of them paid", text):
            missing.append(f"nonfree_baggages {args['nonfree_baggages']}")
    if action.name == "update_reservation_passengers":
        missing += _passenger_problems(text, args, record)
    return missing


def failure_pattern(structured: dict[str, Any]) -> str:
    """A judgment's failure as an error mode where its argument tells which one it is (a
    ``wrong_argument`` on ``flights`` is a ``wrong_flight``); else the judge's mechanism."""
    mechanism = str(structured.get("mechanism"))
    if mechanism == "wrong_argument":
        return ARGUMENT_PATTERNS.get(str(structured.get("argument")), mechanism)
    return mechanism


__all__ = [
    "ARGUMENT_PATTERNS",
    "RECORD_ARG",
    "RECORD_TABLE",
    "failure_pattern",
    "identity_given",
    "record_names",
    "write_problems",
]
