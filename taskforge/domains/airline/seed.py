"""Naive Airline seed tasks: one grounded, feasible request per task, drawn from an Airline DB.

Kinds go round-robin over :data:`SEED_KINDS`: cancel, add a paid bag, change the cabin, move a
flight to another date, replace a passenger, and a read-only question (the total paid). Every
candidate is audited (gold replay on a fresh DB); no two tasks act on the same reservation.
The payment of a paying change is never the reservation's original method, so a change made
without confirming (with the original method) is wrong.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

from taskforge.contracts import (
    Action,
    Description,
    EvaluationCriteria,
    Lineage,
    RewardType,
    StructuredUserInstructions,
    Task,
    UserScenario,
)
from taskforge.domains.airline.facts import INFO_KIND, Request, request_text, total_paid
from taskforge.domains.airline.tools import NOW, AirlineTools
from taskforge.env.audit import audit_task
from taskforge.env.db import Database, Record
from taskforge.errors import DataError

GENERATOR = "airline-naive-seed-v1"
SEED_KINDS = ("cancel", "bags", "cabin", "flight", "passenger", INFO_KIND)
SEED_FILE = Path(__file__).resolve().parents[3] / "datasets" / "airline" / "seed_tasks.json"
SHIPPED = {"n": 36, "seed": 0}
"""How the shipped ``datasets/airline/seed_tasks.json`` is made (:func:`write_seed_tasks`)."""
_ENDING = (
    "Answer the agent's questions with what you know, confirm with 'yes' when the agent "
    "lists exactly what you asked for, and end the conversation once it is done."
)
Draft = tuple[Request, list[tuple[str, dict[str, Any]]], list[str]]


def sample_seed_tasks(db: Database, n: int, seed: int, prefix: str = "seed") -> list[Task]:
    """``n`` feasible, independent naive tasks from an Airline DB (same arguments, same tasks)."""
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    rng = random.Random(seed)
    config = json.dumps({"generator": GENERATOR, "seed": seed, "db_hash": db.hash})
    config_hash = hashlib.sha256(config.encode()).hexdigest()[:16]
    keys = sorted(db.tables["reservations"])
    rng.shuffle(keys)
    used: set[str] = set()
    tasks: list[Task] = []
    for i in range(n):
        task = _next_task(db, rng, keys, used, SEED_KINDS[i % len(SEED_KINDS)], f"{prefix}_{i:03d}")
        if task is None:
            raise DataError(f"the DB has records for only {i} independent seed tasks, not {n}")
        tasks.append(
            task.model_copy(
                update={"lineage": Lineage(generator=GENERATOR, config_hash=config_hash)}
            )
        )
    return tasks


def write_seed_tasks(db: Database, path: Path = SEED_FILE) -> list[Task]:
    """Regenerate the shipped seed tasks (:data:`SHIPPED`) into ``path``."""
    tasks = sample_seed_tasks(db, SHIPPED["n"], SHIPPED["seed"])
    data = [t.model_dump(mode="json", exclude_none=True) for t in tasks]
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return tasks


def _next_task(
    db: Database, rng: random.Random, keys: list[str], used: set[str], kind: str, task_id: str
) -> Task | None:
    for rid in keys:
        if rid in used:
            continue
        reservation = db.tables["reservations"][rid]
        draft = _BUILDERS[kind](db, reservation, rng)
        if draft is None:
            continue
        task = _to_task(draft, reservation["user_id"], task_id)
        audit = audit_task(AirlineTools, db, task)
        if not audit.gold_errors and audit.db_changed != (kind == INFO_KIND):
            used.add(rid)
            return task
    return None


def _to_task(draft: Draft, user_id: str, task_id: str) -> Task:
    request, calls, communicate = draft
    reads = [
        ("get_user_details", {"user_id": user_id}),
        ("get_reservation_details", {"reservation_id": request.reservation_id}),
    ]
    instructions = StructuredUserInstructions(
        domain="airline",
        reason_for_call=request_text(request),
        known_info=f"Your user id is {user_id}.",
        task_instructions=_ENDING,
    )
    actions = [
        Action(action_id=f"{task_id}_{j}", name=n, arguments=a)
        for j, (n, a) in enumerate(reads + calls)
    ]
    return Task(
        id=task_id,
        description=Description(purpose=f"Airline seed request: {request.kind}."),
        user_scenario=UserScenario(instructions=instructions),
        evaluation_criteria=EvaluationCriteria(
            actions=actions,
            communicate_info=communicate,
            reward_basis=[RewardType.DB, RewardType.COMMUNICATE],
        ),
        origin="seed",
    )


def _future(reservation: Record) -> bool:
    return reservation["status"] is None and all(
        f["date"] > NOW[:10] for f in reservation["flights"]
    )


def _other_payment(
    db: Database, reservation: Record, rng: random.Random, amount: int
) -> str | None:
    user = db.tables["users"][reservation["user_id"]]
    original = reservation["payment_history"][0]["payment_id"]
    ok = [
        pid
        for pid, m in sorted(user["payment_methods"].items())
        if pid != original
        and m["source"] != "certificate"
        and (m["source"] == "credit_card" or m["amount"] >= amount)
    ]
    return rng.choice(ok) if ok else None


def _cancel(db: Database, r: Record, rng: random.Random) -> Draft | None:
    if not _future(r) or (r["cabin"] != "business" and r["insurance"] != "yes"):
        return None
    rid = r["reservation_id"]
    return Request("cancel_reservation", rid), [("cancel_reservation", {"reservation_id": rid})], []


def _bags(db: Database, r: Record, rng: random.Random) -> Draft | None:
    pay = _other_payment(db, r, rng, 50)
    if not _future(r) or pay is None:
        return None
    total, paid = r["total_baggages"] + 1, r["nonfree_baggages"] + 1
    args = {
        "reservation_id": r["reservation_id"],
        "total_baggages": total,
        "nonfree_baggages": paid,
        "payment_id": pay,
    }
    request = Request(
        "update_reservation_baggages", r["reservation_id"], bags=(total, paid), payment_id=pay
    )
    return request, [("update_reservation_baggages", args)], []


def _flights_call(
    r: Record, cabin: str, flights: list[tuple[str, str]], pay: str
) -> tuple[str, dict[str, Any]]:
    args = {
        "reservation_id": r["reservation_id"],
        "cabin": cabin,
        "flights": [{"flight_number": f, "date": d} for f, d in flights],
        "payment_id": pay,
    }
    return "update_reservation_flights", args


def _cabin(db: Database, r: Record, rng: random.Random) -> Draft | None:
    pay = _other_payment(db, r, rng, 10_000)
    if not _future(r) or pay is None:
        return None
    cabin = rng.choice([c for c in ("business", "economy") if c != r["cabin"]])
    flights = [(f["flight_number"], f["date"]) for f in r["flights"]]
    request = Request(
        "update_reservation_flights", r["reservation_id"], cabin=cabin, payment_id=pay
    )
    return request, [_flights_call(r, cabin, flights, pay)], []


def _flight(db: Database, r: Record, rng: random.Random) -> Draft | None:
    pay = _other_payment(db, r, rng, 10_000)
    if not _future(r) or pay is None or r["cabin"] == "basic_economy":
        return None
    index = rng.randrange(len(r["flights"]))
    old = r["flights"][index]
    dates = db.tables["flights"][old["flight_number"]]["dates"]
    later = [d for d, s in sorted(dates.items()) if d > old["date"] and s["status"] == "available"]
    if not later:
        return None
    new = (old["flight_number"], later[0])
    flights = [(f["flight_number"], f["date"]) for f in r["flights"]]
    flights[index] = new
    request = Request(
        "update_reservation_flights",
        r["reservation_id"],
        old_flight=(old["flight_number"], old["date"]),
        new_flight=new,
        payment_id=pay,
    )
    return request, [_flights_call(r, r["cabin"], flights, pay)], []


def _passenger(db: Database, r: Record, rng: random.Random) -> Draft | None:
    saved = db.tables["users"][r["user_id"]]["saved_passengers"]
    names = {(p["first_name"], p["last_name"]) for p in r["passengers"]}
    fresh = [p for p in saved if (p["first_name"], p["last_name"]) not in names]
    if not _future(r) or not fresh:
        return None
    index = rng.randrange(len(r["passengers"]))
    old, new = r["passengers"][index], dict(rng.choice(fresh))
    if new["dob"] == old["dob"]:
        return None
    people = [dict(p) for p in r["passengers"]]
    people[index] = new
    request = Request(
        "update_reservation_passengers",
        r["reservation_id"],
        old_passenger=(old["first_name"], old["last_name"]),
        new_passenger=new,
    )
    return (
        request,
        [
            (
                "update_reservation_passengers",
                {"reservation_id": r["reservation_id"], "passengers": people},
            )
        ],
        [],
    )


def _info(db: Database, r: Record, rng: random.Random) -> Draft | None:
    answer = str(total_paid(r))
    return Request(INFO_KIND, r["reservation_id"], answer=answer), [], [answer]


_BUILDERS: dict[str, Callable[[Database, Record, random.Random], Draft | None]] = {
    "cancel": _cancel,
    "bags": _bags,
    "cabin": _cabin,
    "flight": _flight,
    "passenger": _passenger,
    INFO_KIND: _info,
}
