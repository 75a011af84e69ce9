"""Deterministic synthetic Airline DB generator (tau2's ``db.json`` format, our own data).

Names, streets and cities are the project's own; airports are the 20 that the
``list_all_airports`` tool names. One ``random.Random(seed)`` drives every choice, so the same
arguments give the same dict (and ``write_db`` the same bytes). With a ``reference`` DB (e.g.
tau2's), every user id, email, (first, last) name pair, payment method id, reservation id and
flight number of the result is disjoint from the reference's. The ids the tools create
themselves (reservations HATHAT..HATHAV, certificates certificate_3221322..4) are never used.

The world matches the tools' fixed clock (2024-05-15T15:00:00): flight dates before May 15
have landed or were cancelled, May 15 is under way, and May 16-30 can be booked.
"""

from __future__ import annotations

import json
import random
import string
from pathlib import Path
from typing import Any

from taskforge.contracts.io import write_atomic
from taskforge.domains.airline.models import CABINS, AirlineDB
from taskforge.domains.airline.tools import (
    AIRPORTS,
    BAG_FEE,
    INSURANCE_PER_PASSENGER,
    NEW_CERTIFICATE_IDS,
    NEW_RESERVATION_IDS,
)

Record = dict[str, Any]

_FIRST_NAMES_SPEC = """
    Aurelio Beatrix Cosmo Delphine Ezio Florentyna Gideon Hermione Ignatius Juniper Kasimir
    Leocadia Marcellus Nerys Octavian Perpetua Quillon Rosalind Severin Tamsin Ulysses Verity
    Wendell Xanthe Yannick Zenobia Anselm Briony Casimir Drusilla Evander Fenella Gaspard
    Honoria Isidore Jessamy Leander Minerva Peregrine Saskia"""
FIRST_NAMES: tuple[str, ...] = tuple(_FIRST_NAMES_SPEC.split())
_LAST_NAMES_SPEC = """
    Ashdown Bellweather Crowhurst Dunmore Elsworth Fairbairn Greystoke Holloway Inchcape
    Jessop Kittredge Lockhart Merriweather Northcott Oakenfold Pendragon Quenby Ravenscroft
    Stainforth Thistlewood Underhill Vexley Winterbourne Yardley Ambersley Blackwood Carrow
    Devereux Everleigh Fothergill"""
LAST_NAMES: tuple[str, ...] = tuple(_LAST_NAMES_SPEC.split())
STREETS: tuple[str, ...] = (
    "Quarry Lane", "Heron Way", "Lantern Row", "Millpond Road", "Orchard Terrace",
    "Copper Beech Avenue", "Tidewater Drive", "Saddle Ridge Court", "Bramble Street",
    "Kestrel Boulevard", "Foundry Place", "Juniper Hollow",
)  # fmt: skip
CITIES: tuple[tuple[str, str, str], ...] = (
    ("Tacoma", "WA", "984"), ("Boise", "ID", "837"), ("Omaha", "NE", "681"),
    ("Savannah", "GA", "314"), ("Tulsa", "OK", "741"), ("Burlington", "VT", "054"),
    ("Duluth", "MN", "558"), ("Santa Fe", "NM", "875"), ("Knoxville", "TN", "379"),
    ("Madison", "WI", "537"), ("Wichita", "KS", "672"), ("Asheville", "NC", "288"),
)  # fmt: skip
CARD_BRANDS: tuple[str, ...] = ("visa", "mastercard", "amex", "discover")
HUBS: tuple[str, ...] = ("ORD", "DFW", "ATL", "DEN")
HUB_SHARE = 0.6
DAYS = tuple(f"2024-05-{day:02d}" for day in range(1, 31))
TODAY = "2024-05-15"
BASE_PRICES: dict[str, tuple[int, int]] = {
    "basic_economy": (50, 100),
    "economy": (100, 200),
    "business": (200, 500),
}
"""Per-hour-of-flight price ranges by cabin (whole USD)."""


def _reference_keys(reference: Record | None) -> tuple[set[str], set[tuple[str, str]]]:
    """Every id and email of the reference DB, and its (first, last) name pairs."""
    ids: set[str] = set(NEW_RESERVATION_IDS) | set(NEW_CERTIFICATE_IDS)
    names: set[tuple[str, str]] = set()
    if not reference:
        return ids, names
    ids.update(reference.get("flights", {}))
    ids.update(reference.get("reservations", {}))
    for uid, user in reference.get("users", {}).items():
        ids.update((uid, user["email"]))
        ids.update(user.get("payment_methods", {}))
        names.add((user["name"]["first_name"], user["name"]["last_name"]))
    return ids, names


class _Generator:
    """Holds the random stream, the ids taken so far, and the world being built."""

    def __init__(self, seed: int, reference: Record | None) -> None:
        self.rng = random.Random(seed)
        self.taken, self.names_taken = _reference_keys(reference)
        self.flights: dict[str, Record] = {}
        self.users: dict[str, Record] = {}
        self.reservations: dict[str, Record] = {}

    def fresh(self, make: Any) -> str:
        """A value of ``make()`` unused here and in the reference."""
        while True:
            value: str = make()
            if value not in self.taken:
                self.taken.add(value)
                return value

    def digits(self, prefix: str, n: int) -> str:
        return self.fresh(lambda: f"{prefix}{self.rng.randrange(10 ** (n - 1), 10**n)}")

    # ----- flights --------------------------------------------------------------------------

    def make_flights(self, count: int) -> None:
        """``count`` flights, in out-and-back pairs, so that round trips exist."""
        codes = [code for code, _ in AIRPORTS]
        while len(self.flights) < count:
            origin, destination = self.rng.sample(codes, 2)
            if self.rng.random() < HUB_SHARE:  # connections meet at hubs (one-stop trips)
                origin = self.rng.choice([h for h in HUBS if h != destination])
            hours = self.rng.randint(1, 5)
            pairs = ((origin, destination), (destination, origin))
            for a, b in pairs[: count - len(self.flights)]:
                self.add_flight(a, b, hours)

    def add_flight(self, origin: str, destination: str, hours: int) -> None:
        number = self.fresh(lambda: f"HAT{self.rng.randrange(1000, 10000)}")
        depart = self.rng.randint(0, 23)
        arrive = depart + hours
        arrival = f"{arrive % 24:02d}:00:00" + ("+1" if arrive >= 24 else "")
        base: dict[str, int] = {c: self.rng.randint(*BASE_PRICES[c]) for c in CABINS}
        self.flights[number] = {
            "flight_number": number,
            "origin": origin,
            "destination": destination,
            "scheduled_departure_time_est": f"{depart:02d}:00:00",
            "scheduled_arrival_time_est": arrival,
            "dates": {day: self.flight_date(day, depart, hours, base) for day in DAYS},
        }

    def flight_date(self, day: str, depart: int, hours: int, base: dict[str, int]) -> Record:
        if day > TODAY:
            seats = {cabin: self.rng.randint(0, 20) for cabin in CABINS}
            prices = {c: int(base[c] * self.rng.uniform(0.8, 1.3)) for c in CABINS}
            return {"status": "available", "available_seats": seats, "prices": prices}
        if self.rng.random() < 0.08:
            return {"status": "cancelled"}
        dep = _stamp(day, depart * 60 + self.rng.randint(-20, 30))
        arr = _stamp(day, (depart + hours) * 60 + self.rng.randint(-20, 30))
        if day < TODAY or depart + hours < 14:
            return {"status": "landed", "actual_departure_time_est": dep,
                    "actual_arrival_time_est": arr}  # fmt: skip
        if depart < 15:
            return {"status": "flying", "actual_departure_time_est": dep,
                    "estimated_arrival_time_est": arr}  # fmt: skip
        kind = "delayed" if self.rng.random() < 0.3 else "on time"
        return {"status": kind, "estimated_departure_time_est": dep,
                "estimated_arrival_time_est": arr}  # fmt: skip

    # ----- users ----------------------------------------------------------------------------

    def new_name(self) -> tuple[str, str]:
        while True:
            pair = (self.rng.choice(FIRST_NAMES), self.rng.choice(LAST_NAMES))
            if pair not in self.names_taken:
                self.names_taken.add(pair)
                return pair

    def make_user(self) -> None:
        first, last = self.new_name()
        user_id = self.digits(f"{first.lower()}_{last.lower()}_", 4)
        city, state, zip3 = self.rng.choice(CITIES)
        self.users[user_id] = {
            "user_id": user_id,
            "name": {"first_name": first, "last_name": last},
            "address": {
                "address1": f"{self.rng.randint(10, 9999)} {self.rng.choice(STREETS)}",
                "address2": f"Suite {self.rng.randint(100, 999)}",
                "city": city,
                "country": "USA",
                "state": state,
                "zip": f"{zip3}{self.rng.randint(10, 99)}",
            },
            "email": self.digits(f"{first.lower()}.{last.lower()}", 4) + "@example.org",
            "dob": self.birthday(),
            "payment_methods": self.payment_methods(),
            "saved_passengers": [self.passenger() for _ in range(self.rng.randint(0, 2))],
            "membership": self.rng.choice(("gold", "silver", "regular")),
            "reservations": [],
        }

    def birthday(self) -> str:
        year, month, day = self.rng.randint(1950, 2004), self.rng.randint(1, 12), 1
        return f"{year}-{month:02d}-{day + self.rng.randint(0, 27):02d}"

    def passenger(self) -> Record:
        first, last = self.rng.choice(FIRST_NAMES), self.rng.choice(LAST_NAMES)
        return {"first_name": first, "last_name": last, "dob": self.birthday()}

    def payment_methods(self) -> dict[str, Record]:
        methods: dict[str, Record] = {}
        for _ in range(self.rng.randint(1, 2)):
            pid = self.digits("credit_card_", 7)
            methods[pid] = {"source": "credit_card", "id": pid,
                            "brand": self.rng.choice(CARD_BRANDS),
                            "last_four": f"{self.rng.randint(0, 9999):04d}"}  # fmt: skip
        for source in ("gift_card", "certificate"):
            for _ in range(self.rng.choice((0, 0, 1, 2))):
                pid = self.digits(f"{source}_", 7)
                amount = float(self.rng.choice((50, 100, 150, 200, 250, 500)))
                methods[pid] = {"source": source, "id": pid, "amount": amount}
        return methods

    # ----- reservations ---------------------------------------------------------------------

    def reservation_id(self) -> str:
        alphabet = string.ascii_uppercase + string.digits
        return self.fresh(lambda: "".join(self.rng.choice(alphabet) for _ in range(6)))

    def trip(self) -> tuple[str, list[Record]]:
        """A flight type and its segments (flight number, date)."""
        flight = self.flights[self.rng.choice(sorted(self.flights))]
        day = self.rng.randrange(len(DAYS) - 4)
        out = {"flight_number": flight["flight_number"], "date": DAYS[day]}
        back = [
            f
            for f in self.flights.values()
            if (f["origin"], f["destination"]) == (flight["destination"], flight["origin"])
        ]
        if not back or self.rng.random() < 0.5:
            return "one_way", [out]
        back_day = DAYS[day + self.rng.randint(1, 4)]
        return "round_trip", [out, {"flight_number": back[0]["flight_number"], "date": back_day}]

    def segment(self, leg: Record, cabin: str) -> Record:
        flight = self.flights[leg["flight_number"]]
        status = flight["dates"][leg["date"]]
        if "prices" in status:
            price = status["prices"][cabin]
        else:  # a past flight: what it cost then
            price = self.rng.randint(*BASE_PRICES[cabin]) * 2
        return {
            "flight_number": leg["flight_number"],
            "origin": flight["origin"],
            "destination": flight["destination"],
            "date": leg["date"],
            "price": price,
        }

    def make_reservation(self, user_id: str) -> None:
        user = self.users[user_id]
        flight_type, legs = self.trip()
        cabin = self.rng.choice(CABINS)
        segments = [self.segment(leg, cabin) for leg in legs]
        me = {k: user["name"][k] for k in ("first_name", "last_name")} | {"dob": user["dob"]}
        passengers = [me, *user["saved_passengers"][: self.rng.randint(0, 2)]]
        bags = self.rng.randint(0, 2 * len(passengers))
        paid_bags = self.rng.randint(0, bags)
        insurance = self.rng.choice(("yes", "no"))
        total = sum(s["price"] for s in segments) * len(passengers) + BAG_FEE * paid_bags
        total += INSURANCE_PER_PASSENGER * len(passengers) if insurance == "yes" else 0
        cards = [m for m in user["payment_methods"].values() if m["source"] != "certificate"]
        reservation_id = self.reservation_id()
        self.reservations[reservation_id] = {
            "reservation_id": reservation_id, "user_id": user_id,
            "origin": segments[0]["origin"],
            "destination": segments[0]["destination"], "flight_type": flight_type,
            "cabin": cabin, "flights": segments,
            "passengers": [dict(p) for p in passengers],
            "payment_history": [{"payment_id": self.rng.choice(cards)["id"], "amount": total}],
            "created_at": self.booked_at(segments[0]["date"]),
            "total_baggages": bags, "nonfree_baggages": paid_bags, "insurance": insurance,
        }  # fmt: skip
        user["reservations"].append(reservation_id)

    def booked_at(self, first_flight: str) -> str:
        """A booking time before today and no later than the first flight's day."""
        last = min(DAYS.index(first_flight), DAYS.index(TODAY) - 1)
        stamp = _stamp(DAYS[self.rng.randint(0, last)], self.rng.randint(0, 1439))
        return f"{stamp[:-2]}{self.rng.randint(0, 59):02d}"

    def finish(self) -> Record:
        db = {"flights": self.flights, "users": self.users, "reservations": self.reservations}
        return AirlineDB.model_validate(db).model_dump()


def _stamp(day: str, minutes: int) -> str:
    minutes = max(0, min(minutes, 24 * 60 - 1))
    return f"{day}T{minutes // 60:02d}:{minutes % 60:02d}:00"


SIZES: dict[str, int] = {"users": 120, "reservations": 400, "flights": 60}
"""The size arguments of :func:`generate_db` and their defaults (``taskforge db generate``)."""


def generate_db(
    seed: int, users: int, reservations: int, flights: int, reference: dict | None = None
) -> dict:
    """A synthetic Airline DB in tau2's ``db.json`` format (every Reservation field present).

    With ``reference`` (a ``db.json`` dict), the result shares no user id, email, name pair,
    payment method id, reservation id or flight number with it. Same arguments, same dict.
    """
    limit = len(FIRST_NAMES) * len(LAST_NAMES) // 2
    if not 1 <= users <= limit:
        raise ValueError(f"users must be between 1 and {limit}, got {users}")
    if flights < 2 or reservations < 0:
        raise ValueError(f"need flights >= 2 and reservations >= 0, got {flights}, {reservations}")
    gen = _Generator(seed, reference)
    gen.make_flights(flights)
    for _ in range(users):
        gen.make_user()
    owners = sorted(gen.users)
    for _ in range(reservations):
        gen.make_reservation(gen.rng.choice(owners))
    return gen.finish()


def write_db(db: dict, path: Path) -> None:
    """Write ``db`` as indented JSON, atomically."""
    write_atomic(Path(path), json.dumps(db, indent=2, ensure_ascii=False) + "\n")
