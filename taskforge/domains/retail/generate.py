"""Deterministic synthetic Retail DB generator (tau2's ``db.json`` format, our own data).

Everything here (catalogue, names, streets, cities) is the project's own. One
``random.Random(seed)`` drives every choice, so the same arguments give the same dict, and
``write_db`` gives the same bytes. With a ``reference`` DB (e.g. tau2's), every id, email and
(first, last) name pair of the result is disjoint from the reference's.

Events are replayed in order as the tau2 tools would have made them: gift card balances are
their face value (one of ``GIFT_CARD_VALUES``) minus payments plus refunds.
"""

from __future__ import annotations

import itertools
import json
import math
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from taskforge.contracts.io import write_atomic
from taskforge.domains.retail.models import RetailDB

Record = dict[str, Any]

# A product line "name | base price in USD", then one indented line per option: "option: a, b".
_CATALOGUE_SPEC = """
Trail Running Shoes | 124
    size: 7, 8, 9, 10, 11, 12
    color: slate, orange, forest green, black
    drop: 4mm, 8mm
Desk Fan | 46
    blade size: 12 inch, 16 inch
    color: white, black, sage
    mount: desk, clip-on
Standing Desk | 419
    width: 48 inch, 55 inch, 63 inch
    frame color: black, white, silver
    top: walnut, oak, bamboo
Cast Iron Skillet | 54
    diameter: 8 inch, 10 inch, 12 inch
    finish: pre-seasoned, enameled
Rain Jacket | 139
    size: XS, S, M, L, XL
    color: yellow, navy, olive, red
    hood: packable, fixed
Camping Tent | 259
    capacity: 2-person, 4-person, 6-person
    season: 3-season, 4-season
    color: green, orange, grey
White Noise Machine | 39
    sounds: 10 sounds, 30 sounds
    color: white, charcoal
    power: plug-in, rechargeable
Chef's Knife | 89
    blade length: 6 inch, 8 inch, 10 inch
    steel: stainless, carbon, damascus
    handle: wood, composite
Countertop Blender | 109
    capacity: 1L, 1.5L, 2L
    power: 600W, 1000W, 1400W
    color: red, black, brushed steel
Stand Mixer | 329
    bowl size: 4.5 qt, 5 qt, 6 qt
    color: cream, red, matte black, teal
    attachment kit: basic, pro
Hammock | 69
    material: cotton, nylon, polyester rope
    length: 9 ft, 11 ft
    color: sunset stripe, navy, sand
Electric Scooter | 519
    range: 15 mi, 25 mi, 40 mi
    color: black, white, blue
    max speed: 15 mph, 20 mph
Board Game | 38
    edition: standard, deluxe
    language: English, Spanish, French
    players: 2-4, 2-6
Rice Cooker | 84
    capacity: 3 cup, 6 cup, 10 cup
    type: basic, fuzzy logic
    color: white, black
Winter Gloves | 34
    size: S, M, L, XL
    material: wool, leather, fleece
    touchscreen: yes, no
Computer Monitor | 259
    screen size: 24 inch, 27 inch, 32 inch
    resolution: 1080p, 1440p, 4K
    refresh rate: 60Hz, 144Hz
Camera Drone | 479
    camera: 2.7K, 4K
    flight time: 20 min, 30 min
    color: grey, white
Air Fryer | 119
    capacity: 3 qt, 5 qt, 8 qt
    color: black, white, red
    window: yes, no
Sleeping Bag | 94
    temperature rating: 40F, 20F, 0F
    fill: synthetic, down
    length: regular, long
Ukulele | 74
    size: soprano, concert, tenor
    wood: mahogany, spruce, koa
    pickup: none, built-in
Picture Frame | 24
    size: 5x7, 8x10, 11x14
    color: black, white, natural wood
    mat: single, none
Kayak Paddle | 109
    length: 220 cm, 230 cm, 240 cm
    shaft: aluminum, fiberglass, carbon
    blade: symmetric, asymmetric
Baby Monitor | 149
    display: 3.5 inch, 5 inch
    connectivity: wifi, radio
    night vision: standard, enhanced
Toaster | 59
    slots: 2-slice, 4-slice
    color: steel, black, red, white
    bagel setting: yes, no
Bath Towel Set | 47
    color: white, grey, navy, blush
    material: cotton, bamboo, linen
    set size: 2-piece, 4-piece, 6-piece
Wireless Router | 179
    band: dual-band, tri-band
    standard: wifi 6, wifi 6E, wifi 7
    ports: 4, 8
Drawing Tablet | 209
    active area: small, medium, large
    pen: standard, tilt-sensitive
    connectivity: usb, bluetooth
Camping Stove | 64
    burners: 1, 2
    fuel: propane, butane, multi-fuel
    ignition: manual, piezo
Bird Feeder | 29
    type: tube, platform, hopper
    material: metal, plastic, cedar
    capacity: 1 lb, 3 lb
Dash Cam | 94
    resolution: 1080p, 1440p, 4K
    channels: front, front and rear
    storage: 32GB, 64GB, 128GB
Weighted Blanket | 109
    weight: 10 lb, 15 lb, 20 lb
    size: twin, queen
    cover: cotton, minky
Cordless Drill | 129
    voltage: 12V, 18V, 20V
    battery: 1 battery, 2 batteries
    color: yellow, blue, red
    chuck: 3/8 inch, 1/2 inch
"""
_FIRST_NAMES_SPEC = """
Adaeze Bjorn Camila Dmitri Elif Farah Gabriel Hana Ibrahim Jonas Keiko Leandro Maya Nikolai
Ottilie Priya Quentin Rosa Santiago Tamar Ulla Valentina Wen Ximena Yosef Zainab Amara Benedikt
Chiara Dario Esme Felix Greta Hugo Ingrid Jamal Kofi Lina Marek Nadia Oskar Paloma Rafael
Saoirse Tomas Uma Viktor Wanjiru Yuki Zoltan Anika Bruno Clara Desmond Elena Florian Gemma
Hiroshi Imani Julian
"""
_LAST_NAMES_SPEC = """
Okafor Lindqvist Moreau Petrov Yilmaz Haddad Castillo Nakamura Ferreira Kowalski Abernathy Osei
Varga Delacroix Brennan Sato Mensah Novak Bianchi Fitzgerald Achterberg Qureshi Dalton Eriksen
Galloway Horvath Iyer Jovanovic Kaur Lachance Mwangi Nilsson Pereira Quintero Rasmussen Schultz
Tanaka Ueda Vasquez Whitfield Xu Yamamoto Zielinski Acheampong Bergstrom Caldwell Dubois
Esposito Falk Grimaldi Holloway Ivanova Jensen Kruger Lombardi Marsh Nwosu Oyelaran Ramirez
Takahashi
"""
_STREETS_SPEC = """
Quarry Road, Birch Hollow Lane, Mill Creek Road, Orchard Way, Harbor View Drive, Juniper Court,
Foxglove Lane, Granite Avenue, Meadowbrook Road, Copper Ridge Drive, Sycamore Court, Lighthouse
Road, Beacon Street, Aspen Terrace, Magnolia Boulevard, Wren Street, Old Post Road, Prairie
Avenue, Tidewater Lane, Canal Street
"""
# city | state | first three digits of its zip codes
_CITIES_SPEC = """
Portland | OR | 972
Boise | ID | 837
Madison | WI | 537
Tucson | AZ | 857
Albuquerque | NM | 871
Omaha | NE | 681
Raleigh | NC | 276
Richmond | VA | 232
Louisville | KY | 402
Milwaukee | WI | 532
Salt Lake City | UT | 841
Minneapolis | MN | 554
Kansas City | MO | 641
Pittsburgh | PA | 152
Buffalo | NY | 142
Tampa | FL | 336
Savannah | GA | 314
Burlington | VT | 054
Anchorage | AK | 995
Spokane | WA | 992
Des Moines | IA | 503
Providence | RI | 029
Charleston | SC | 294
Reno | NV | 895
"""


def _parse_catalogue(spec: str) -> tuple[tuple[str, float, dict[str, list[str]]], ...]:
    rows: list[tuple[str, float, dict[str, list[str]]]] = []
    for line in spec.strip().splitlines():
        if line.startswith(" "):
            option, values = line.strip().split(": ")
            rows[-1][2][option] = values.split(", ")
        else:
            name, price = line.split(" | ")
            rows.append((name, float(price), {}))
    return tuple(rows)


CATALOGUE = _parse_catalogue(_CATALOGUE_SPEC)
FIRST_NAMES: tuple[str, ...] = tuple(_FIRST_NAMES_SPEC.split())
LAST_NAMES: tuple[str, ...] = tuple(_LAST_NAMES_SPEC.split())
STREETS: tuple[str, ...] = tuple(" ".join(_STREETS_SPEC.split()).split(", "))
CITIES: tuple[tuple[str, str, str], ...] = tuple(
    (city, state, zip3)
    for city, state, zip3 in (line.split(" | ") for line in _CITIES_SPEC.strip().splitlines())
)
CARD_BRANDS: tuple[str, ...] = ("visa", "mastercard", "amex", "discover")
GIFT_CARD_VALUES: tuple[int, ...] = (10, 25, 50, 100, 150, 200, 250, 500, 1000)
CANCEL_REASONS: tuple[str, ...] = ("no longer needed", "ordered by mistake")
STATUS_WEIGHTS: dict[str, int] = {
    "pending": 28,
    "processed": 11,
    "delivered": 34,
    "cancelled": 10,
    "pending (item modified)": 4,
    "return requested": 4,
    "exchange requested": 4,
}
SHIPPED = frozenset({"processed", "delivered", "return requested", "exchange requested"})
SHARED_PAIR_RATE = 0.2  # share of multi-order users given two pending orders sharing a product


@dataclass
class _Slot:
    """An order to be made: its owner, its status, and an item it must contain."""

    user_id: str
    status: str
    forced: Record | None = None


def _cents(amount: float) -> int:
    return round(amount * 100)


def _dollars(cents: int) -> float:
    return round(cents / 100, 2)


def _reference_keys(reference: Record | None) -> tuple[set[str], set[tuple[str, str]]]:
    """Every id and email of the reference DB, and its (first, last) name pairs."""
    ids: set[str] = set()
    names: set[tuple[str, str]] = set()
    if not reference:
        return ids, names
    for pid, product in reference.get("products", {}).items():
        ids.add(pid)
        ids.update(product.get("variants", {}))
    for uid, user in reference.get("users", {}).items():
        ids.update((uid, user["email"]))
        ids.update(user.get("payment_methods", {}))
        names.add((user["name"]["first_name"], user["name"]["last_name"]))
    for oid, order in reference.get("orders", {}).items():
        ids.add(oid)
        for fulfillment in order.get("fulfillments", []):
            ids.update(fulfillment.get("tracking_id", []))
    return ids, names


def _check_sizes(users: int, orders: int, products: int) -> None:
    if not 1 <= products <= len(CATALOGUE):
        raise ValueError(f"products must be between 1 and {len(CATALOGUE)}, got {products}")
    if not 1 <= users <= len(FIRST_NAMES) * len(LAST_NAMES) // 2:
        raise ValueError(f"users must be between 1 and {len(FIRST_NAMES) * len(LAST_NAMES) // 2}")
    if orders < 0:
        raise ValueError(f"orders must be >= 0, got {orders}")


class _Generator:
    """Holds the random stream, the ids taken so far, and the world being built."""

    def __init__(self, seed: int, reference: Record | None) -> None:
        self.rng = random.Random(seed)
        self.taken, self.names_taken = _reference_keys(reference)
        self.products: dict[str, Record] = {}
        self.users: dict[str, Record] = {}
        self.orders: dict[str, Record] = {}
        self.gift_left: dict[str, int] = {}

    # ----- ids -----------------------------------------------------------------------------

    def new_id(self, prefix: str, digits: int, suffix: str = "") -> str:
        """A fresh id ``prefix + digits + suffix``, unused here and in the reference."""
        while True:
            value = f"{prefix}{self.rng.randrange(10 ** (digits - 1), 10**digits)}{suffix}"
            if value not in self.taken:
                self.taken.add(value)
                return value

    # ----- products ------------------------------------------------------------------------

    def variant_combos(self, options: dict[str, list[str]]) -> list[tuple[str, ...]]:
        """Distinct option combinations, built in near-identical pairs (one option differs)."""
        dims = list(options.values())
        total = math.prod(len(values) for values in dims)
        want = self.rng.randint(min(6, total), min(14, total))
        combos: list[tuple[str, ...]] = []
        while len(combos) < want:
            fresh = not combos or self.rng.random() < 0.4
            base = tuple(self.rng.choice(v) for v in dims) if fresh else self.rng.choice(combos)
            axis = self.rng.randrange(len(dims))
            other = self.rng.choice([v for v in dims[axis] if v != base[axis]])
            twin = (*base[:axis], other, *base[axis + 1 :])
            for combo in (base, twin):
                if combo not in combos and len(combos) < want:
                    combos.append(combo)
        return combos

    def price_factors(self, options: dict[str, list[str]]) -> dict[tuple[str, str], float]:
        """Per option value, a price multiplier (the first value of each option is 1)."""
        factors: dict[tuple[str, str], float] = {}
        for name, values in options.items():
            for index, value in enumerate(values):
                factors[(name, value)] = 1.0 if index == 0 else self.rng.uniform(0.9, 1.25)
        return factors

    def make_product(self, name: str, base: float, options: dict[str, list[str]]) -> Record:
        factors = self.price_factors(options)
        product_id = self.new_id("", 10)
        variants: dict[str, Record] = {}
        for combo in self.variant_combos(options):
            chosen = dict(zip(options, combo, strict=True))
            price = base * math.prod(factors[item] for item in chosen.items())
            item_id = self.new_id("", 10)
            variants[item_id] = {
                "item_id": item_id,
                "options": chosen,
                "available": self.rng.random() < 0.8,
                "price": round(price * self.rng.uniform(0.98, 1.02), 2),
            }
        _ensure_available_twins(list(variants.values()))
        return {"name": name, "product_id": product_id, "variants": variants}

    def make_products(self, count: int) -> None:
        for name, base, options in self.rng.sample(CATALOGUE, count):
            product = self.make_product(name, base, options)
            self.products[product["product_id"]] = product

    # ----- users ---------------------------------------------------------------------------

    def new_name(self) -> tuple[str, str]:
        while True:
            pair = (self.rng.choice(FIRST_NAMES), self.rng.choice(LAST_NAMES))
            if pair not in self.names_taken:
                self.names_taken.add(pair)
                return pair

    def address(self) -> Record:
        city, state, zip_prefix = self.rng.choice(CITIES)
        kind = self.rng.choice(["Apt", "Unit", "Suite", ""])
        line2 = f"{kind} {self.rng.randint(1, 999)}" if kind else ""
        return {
            "address1": f"{self.rng.randint(12, 2999)} {self.rng.choice(STREETS)}",
            "address2": line2,
            "city": city,
            "country": "USA",
            "state": state,
            "zip": f"{zip_prefix}{self.rng.randint(0, 99):02d}",
        }

    def payment_method(self, source: str) -> Record:
        pm_id = self.new_id(f"{source}_", 7)
        if source == "credit_card":
            brand = self.rng.choice(CARD_BRANDS)
            last_four = f"{self.rng.randint(0, 9999):04d}"
            return {"source": source, "id": pm_id, "brand": brand, "last_four": last_four}
        if source == "gift_card":
            self.gift_left[pm_id] = 100 * self.rng.choice(GIFT_CARD_VALUES)
            return {"source": source, "id": pm_id, "balance": 0.0}
        return {"source": source, "id": pm_id}

    def payment_methods(self) -> dict[str, Record]:
        """1-4 methods; the first is a credit card or PayPal, at most one PayPal account."""
        count = self.rng.choices([1, 2, 3, 4], weights=[40, 35, 17, 8])[0]
        sources = [self.rng.choice(["credit_card", "paypal"])]
        while len(sources) < count:
            source = self.rng.choice(["credit_card", "gift_card", "gift_card", "paypal"])
            if source != "paypal" or "paypal" not in sources:
                sources.append(source)
        methods = [self.payment_method(source) for source in sources]
        return {method["id"]: method for method in methods}

    def make_user(self) -> None:
        first, last = self.new_name()
        stem = f"{first.lower()}_{last.lower()}_"
        user_id = self.new_id(stem, 4)
        email = self.new_id(f"{first.lower()}.{last.lower()}", 4, "@example.com")
        self.users[user_id] = {
            "user_id": user_id,
            "name": {"first_name": first, "last_name": last},
            "address": self.address(),
            "email": email,
            "payment_methods": self.payment_methods(),
            "orders": [],
        }

    # ----- order plan ----------------------------------------------------------------------

    def order_counts(self, n_orders: int) -> list[int]:
        """How many orders each user gets: skewed, so many users have two or more."""
        n_users = len(self.users)
        counts = [1 if n_orders >= n_users else 0] * n_users
        weights = [self.rng.choice([0.3, 1.0, 1.0, 2.0, 3.0]) for _ in range(n_users)]
        for _ in range(n_orders - sum(counts)):
            counts[self.rng.choices(range(n_users), weights=weights)[0]] += 1
        return counts

    def shared_pair(self) -> tuple[Record, Record]:
        """Two order items of one product: the same item, or two variants of it."""
        product = self.products[self.rng.choice(sorted(self.products))]
        variants = list(product["variants"].values())
        first = self.rng.choice(variants)
        second = first if self.rng.random() < 0.5 else self.rng.choice(variants)
        return _order_item(product, first), _order_item(product, second)

    def plan(self, n_orders: int) -> list[_Slot]:
        """The orders to make, in the order they happen."""
        statuses, weights = list(STATUS_WEIGHTS), list(STATUS_WEIGHTS.values())
        slots: list[_Slot] = []
        paired = False
        for user_id, count in zip(self.users, self.order_counts(n_orders), strict=True):
            mine = [_Slot(user_id, self.rng.choices(statuses, weights)[0]) for _ in range(count)]
            if count >= 2 and (self.rng.random() < SHARED_PAIR_RATE or not paired):
                paired = True
                for slot, item in zip(mine, self.shared_pair(), strict=False):
                    slot.status, slot.forced = "pending", item
            slots.extend(mine)
        self.rng.shuffle(slots)
        return slots

    # ----- orders --------------------------------------------------------------------------

    def random_item(self) -> Record:
        product = self.products[self.rng.choice(sorted(self.products))]
        variant = self.rng.choice(list(product["variants"].values()))
        return _order_item(product, variant)

    def order_items(self, forced: Record | None) -> list[Record]:
        """1-5 items, sometimes with the same item twice."""
        count = self.rng.choices([1, 2, 3, 4, 5], weights=[25, 25, 20, 15, 15])[0]
        items = [self.random_item() for _ in range(count - (forced is not None))]
        if len(items) >= 2 and self.rng.random() < 0.12:
            items[-1] = dict(self.rng.choice(items[:-1]))
        if forced is not None:
            items.insert(self.rng.randint(0, len(items)), dict(forced))
        return items

    def alternative(self, item: Record) -> Record | None:
        """An available other variant of the item's product; near-identical ones preferred."""
        product = self.products[item["product_id"]]
        others = [
            v
            for v in product["variants"].values()
            if v["available"] and v["item_id"] != item["item_id"]
        ]
        close = [v for v in others if _option_distance(v["options"], item["options"]) == 1]
        pool = close if close and self.rng.random() < 0.7 else others
        return _order_item(product, self.rng.choice(pool)) if pool else None

    def changes(self, items: list[Record]) -> list[tuple[int, Record]]:
        """Positions of 1-2 items and the available items they change to (maybe none)."""
        options = [(i, self.alternative(item)) for i, item in enumerate(items)]
        possible = [(i, alt) for i, alt in options if alt is not None]
        if not possible:
            return []
        return sorted(self.rng.sample(possible, min(len(possible), self.rng.randint(1, 2))))

    def pay_method(self, user: Record, cents: int) -> str:
        """A method of the user that can pay ``cents``; gift cards only with enough left."""
        methods = list(user["payment_methods"].values())
        gifts = [m["id"] for m in methods if m["source"] == "gift_card"]
        usable = [pm for pm in gifts if self.gift_left[pm] >= cents]
        if usable and self.rng.random() < 0.7:
            return self.rng.choice(usable)
        return self.rng.choice([m["id"] for m in methods if m["source"] != "gift_card"])

    def transact(self, kind: str, cents: int, pm_id: str) -> Record:
        """A payment-history entry; a gift card's balance moves at once."""
        if pm_id in self.gift_left:
            self.gift_left[pm_id] += cents if kind == "refund" else -cents
            assert self.gift_left[pm_id] >= 0, pm_id
        return {"transaction_type": kind, "amount": _dollars(cents), "payment_method_id": pm_id}

    def fulfillments(self, items: list[Record]) -> list[Record]:
        """One shipment, or two when the order is large enough to be split."""
        ids = [item["item_id"] for item in items]
        cut = self.rng.randint(1, len(ids) - 1) if len(ids) >= 3 and self.rng.random() < 0.15 else 0
        parts = [ids[:cut], ids[cut:]] if cut else [ids]
        return [{"tracking_id": [self.new_id("", 12)], "item_ids": part} for part in parts]

    def make_order(self, slot: _Slot) -> None:
        user = self.users[slot.user_id]
        items = self.order_items(slot.forced)
        cents = sum(_cents(item["price"]) for item in items)
        pm_id = self.pay_method(user, cents)
        same = self.rng.random() < 0.85 or not user["orders"]
        order: Record = {
            "order_id": self.new_id("#W", 7),
            "user_id": slot.user_id,
            "address": dict(user["address"]) if same else self.address(),
            "items": items,
            "status": slot.status,
            "fulfillments": self.fulfillments(items) if slot.status in SHIPPED else [],
            "payment_history": [self.transact("payment", cents, pm_id)],
        }
        self.apply_status(order, user)
        self.orders[order["order_id"]] = order
        user["orders"].append(order["order_id"])

    def apply_status(self, order: Record, user: Record) -> None:
        """Add what the status implies: refund, modification, return or exchange request."""
        status = order["status"]
        if status == "cancelled":
            first = order["payment_history"][0]
            refund = self.transact("refund", _cents(first["amount"]), first["payment_method_id"])
            order["payment_history"].append(refund)
            order["cancel_reason"] = self.rng.choice(CANCEL_REASONS)
        elif status == "pending (item modified)":
            self.modify_items(order, user)
        elif status == "return requested":
            self.request_return(order, user)
        elif status == "exchange requested":
            self.request_exchange(order, user)

    def modify_items(self, order: Record, user: Record) -> None:
        """As modify_pending_order_items: swap items, settle the difference."""
        changes = self.changes(order["items"])
        if not changes:
            order["status"] = "pending"
            return
        diff = sum(_cents(new["price"]) - _cents(order["items"][i]["price"]) for i, new in changes)
        for index, new in changes:
            order["items"][index] = new
        pm_id = self.pay_method(user, max(diff, 0))
        kind = "payment" if diff > 0 else "refund"
        order["payment_history"].append(self.transact(kind, abs(diff), pm_id))

    def request_return(self, order: Record, user: Record) -> None:
        """As return_delivered_order_items: original method or one of the user's gift cards."""
        count = self.rng.randint(1, len(order["items"]))
        chosen = self.rng.sample(order["items"], count)
        order["return_items"] = sorted(item["item_id"] for item in chosen)
        gifts = [pm for pm in user["payment_methods"] if pm in self.gift_left]
        original = order["payment_history"][0]["payment_method_id"]
        use_gift = gifts and self.rng.random() < 0.3
        order["return_payment_method_id"] = self.rng.choice(gifts) if use_gift else original

    def request_exchange(self, order: Record, user: Record) -> None:
        """As exchange_delivered_order_items: record old and new items and the difference."""
        changes = self.changes(order["items"])
        if not changes:
            order["status"] = "delivered"
            return
        old = [order["items"][i] for i, _ in changes]
        new = [item for _, item in changes]
        diff = sum(_cents(n["price"]) for n in new) - sum(_cents(o["price"]) for o in old)
        order["exchange_items"] = sorted(item["item_id"] for item in old)
        order["exchange_new_items"] = sorted(item["item_id"] for item in new)
        order["exchange_payment_method_id"] = self.pay_method(user, max(diff, 0))
        order["exchange_price_difference"] = _dollars(diff)

    def finish(self) -> Record:
        for user in self.users.values():
            for method in user["payment_methods"].values():
                if method["source"] == "gift_card":
                    method["balance"] = _dollars(self.gift_left[method["id"]])
        db = {"products": self.products, "users": self.users, "orders": self.orders}
        return RetailDB.model_validate(db).model_dump()


def _order_item(product: Record, variant: Record) -> Record:
    return {
        "name": product["name"],
        "product_id": product["product_id"],
        "item_id": variant["item_id"],
        "price": variant["price"],
        "options": dict(variant["options"]),
    }


def _option_distance(a: dict[str, str], b: dict[str, str]) -> int:
    return sum(a[key] != b[key] for key in a)


def _ensure_available_twins(variants: list[Record]) -> None:
    """Make sure two available variants differ in exactly one option."""
    pairs = [
        (a, b)
        for a, b in itertools.combinations(variants, 2)
        if _option_distance(a["options"], b["options"]) == 1
    ]
    if pairs and not any(a["available"] and b["available"] for a, b in pairs):
        pairs[0][0]["available"] = pairs[0][1]["available"] = True


SIZES: dict[str, int] = {"users": 120, "orders": 240, "products": 24}
"""The size arguments of :func:`generate_db` and their defaults (``taskforge db generate``)."""


def generate_db(
    seed: int, users: int, orders: int, products: int, reference: dict | None = None
) -> dict:
    """A synthetic Retail DB in tau2's ``db.json`` format (every Order field present).

    ``products`` product types are drawn from ``CATALOGUE``. With ``reference`` (a
    ``db.json`` dict), user ids, emails, name pairs, order ids, payment method ids, product ids,
    item ids and tracking ids are all disjoint from the reference's. Same arguments, same dict.
    """
    _check_sizes(users, orders, products)
    gen = _Generator(seed, reference)
    gen.make_products(products)
    for _ in range(users):
        gen.make_user()
    for slot in gen.plan(orders):
        gen.make_order(slot)
    return gen.finish()


def write_db(db: dict, path: Path) -> None:
    """Write ``db`` as indented JSON, atomically (temp file in the same folder, then rename)."""
    write_atomic(Path(path), json.dumps(db, indent=2, ensure_ascii=False) + "\n")
