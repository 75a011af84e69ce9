"""Airline's synthetic worlds for ``taskforge bench warehouse`` (entities, call plans, tasks).

Each world is one task and the records its trajectories talk about: a user with one to three
reservations, the successful call plan (user and reservation reads, maybe a flight search and
a calculation, then the write) with the tool outputs as JSON, and the task's gold actions.
"""

from __future__ import annotations

import random
from typing import Any

import orjson

from taskforge.contracts import Task
from taskforge.domains.airline.tools import AirlineTools

TOOL_KINDS: dict[str, str] = {name: spec.kind.value for name, spec in AirlineTools.specs.items()}
"""Tool name -> kind (read, write, generic, think)."""
_FIRST = ("yusuf", "mia", "omar", "sofia", "liam", "aarav", "emma", "noah", "isabella", "chen")
_LAST = ("rossi", "garcia", "kim", "patel", "lopez", "smith", "nguyen", "muller", "silva", "ito")
ROUTES = (("JFK", "LAX"), ("SFO", "ORD"), ("ATL", "DEN"), ("BOS", "MIA"), ("SEA", "DFW"))
_PATTERNS = ("missing_action", "wrong_argument", "multi_record_confusion", "execution_control")
_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"


def _entities(rng: random.Random) -> dict[str, Any]:
    first, last = rng.choice(_FIRST), rng.choice(_LAST)
    return {
        "first": first,
        "last": last,
        "user_id": f"{first}_{last}_{rng.randint(1000, 9999)}",
        "reservations": ["".join(rng.choices(_LETTERS, k=6)) for _ in range(rng.randint(1, 3))],
        "payment": rng.choice(("credit_card_", "gift_card_")) + str(rng.randint(10**6, 10**7 - 1)),
        "route": rng.choice(ROUTES),
        "flight": f"HAT{rng.randint(100, 999)}",
        "date": f"2024-05-{rng.randint(16, 30)}",
    }


def _reservation_json(e: dict[str, Any], rid: str, cabin: str, status: str | None) -> str:
    origin, destination = e["route"]
    flight = {"flight_number": e["flight"], "origin": origin, "destination": destination}
    return orjson.dumps(
        {
            "reservation_id": rid,
            "user_id": e["user_id"],
            "origin": origin,
            "destination": destination,
            "flight_type": "one_way",
            "cabin": cabin,
            "flights": [{**flight, "date": e["date"], "price": 180}],
            "passengers": [
                {
                    "first_name": e["first"].title(),
                    "last_name": e["last"].title(),
                    "dob": "1990-01-01",
                }
            ],
            "payment_history": [{"payment_id": e["payment"], "amount": 180}],
            "created_at": "2024-05-10T10:00:00",
            "total_baggages": 1,
            "nonfree_baggages": 0,
            "insurance": "no",
            "status": status,
        }
    ).decode()


def _user_json(e: dict[str, Any]) -> str:
    method = {"source": e["payment"].rsplit("_", 1)[0], "id": e["payment"]}
    return orjson.dumps(
        {
            "user_id": e["user_id"],
            "name": {"first_name": e["first"].title(), "last_name": e["last"].title()},
            "payment_methods": {e["payment"]: method},
            "membership": "regular",
            "reservations": e["reservations"],
        }
    ).decode()


def _write_call(rng: random.Random, e: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    rid = e["reservations"][-1]
    name = rng.choice(
        ("cancel_reservation", "update_reservation_baggages", "update_reservation_flights")
    )
    if name == "cancel_reservation":
        return name, {"reservation_id": rid}
    if name == "update_reservation_baggages":
        return name, {
            "reservation_id": rid,
            "total_baggages": 2,
            "nonfree_baggages": 1,
            "payment_id": e["payment"],
        }
    flights = [{"flight_number": e["flight"], "date": e["date"]}]
    return name, {
        "reservation_id": rid,
        "cabin": "business",
        "flights": flights,
        "payment_id": e["payment"],
    }


def _plan(
    rng: random.Random, e: dict[str, Any], write: tuple[str, dict[str, Any]] | None
) -> list[tuple[str, dict[str, Any], str]]:
    plan: list[tuple[str, dict[str, Any], str]] = [
        ("get_user_details", {"user_id": e["user_id"]}, _user_json(e))
    ]
    for rid in e["reservations"]:
        plan.append(
            (
                "get_reservation_details",
                {"reservation_id": rid},
                _reservation_json(e, rid, "economy", None),
            )
        )
    if rng.random() < 0.4:
        origin, destination = e["route"]
        args = {"origin": origin, "destination": destination, "date": e["date"]}
        plan.append(("search_direct_flight", args, "[]"))
    if rng.random() < 0.2:
        plan.append(("calculate", {"expression": "180 * 2 - 50"}, "310.0"))
    if write is not None:
        status = "cancelled" if write[0] == "cancel_reservation" else None
        plan.append(
            (write[0], write[1], _reservation_json(e, e["reservations"][-1], "economy", status))
        )
    return plan


def _task(task_id: str, rng: random.Random, e: dict[str, Any], write: Any, route: str) -> Task:
    origin = rng.choices(("tau2", "seed", "targeted"), weights=(60, 15, 25))[0]
    targeted = origin == "targeted"
    gold = [("get_reservation_details", {"reservation_id": e["reservations"][-1]})]
    gold += [write] if write else []
    data: dict[str, Any] = {
        "id": task_id,
        "user_scenario": {
            "persona": "Polite but in a hurry.",
            "instructions": {
                "domain": "airline",
                "reason_for_call": f"You want help with your reservation for the {route} trip.",
                "known_info": f"Your user id is {e['user_id']}.",
                "task_instructions": "Only confirm changes once you have heard all the details.",
            },
        },
        "evaluation_criteria": {
            "actions": [
                {"action_id": f"{task_id}_{k}", "name": n, "arguments": a}
                for k, (n, a) in enumerate(gold)
            ],
            "communicate_info": [],
            "reward_basis": ["DB", "COMMUNICATE"],
        },
        "origin": origin,
        "pattern": rng.choice(_PATTERNS) if targeted else None,
        "lineage": {"round": rng.randint(1, 3), "generator": "bench"} if targeted else None,
    }
    return Task.model_validate({k: v for k, v in data.items() if v is not None})


def bench_world(
    rng: random.Random, task_id: str
) -> tuple[Task, str, list[tuple[str, dict[str, Any], str]], tuple[str, dict[str, Any]] | None]:
    """One world: its task, the trip it is about, the call plan and the write (or None)."""
    e = _entities(rng)
    route = "-".join(e["route"])
    write = _write_call(rng, e) if rng.random() < 0.85 else None
    return _task(task_id, rng, e, write, route), route, _plan(rng, e, write), write


__all__ = ["ROUTES", "TOOL_KINDS", "bench_world"]
