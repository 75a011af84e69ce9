"""Tests of the synthetic Retail DB generator."""

from __future__ import annotations

import itertools
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from taskforge.domains.retail.generate import (
    CANCEL_REASONS,
    CATALOGUE,
    GIFT_CARD_VALUES,
    generate_db,
    write_db,
)
from taskforge.domains.retail.models import RetailDB

REPO_ROOT = Path(__file__).resolve().parents[3]
TAU2_DB = REPO_ROOT.parent / "shared" / "tau2-retail" / "db.json"
ALL_STATUSES = {
    "pending",
    "processed",
    "delivered",
    "cancelled",
    "pending (item modified)",
    "return requested",
    "exchange requested",
}
SHIPPED = {"processed", "delivered", "return requested", "exchange requested"}

DB = dict[str, Any]


@pytest.fixture(scope="module")
def db() -> DB:
    return generate_db(seed=7, users=120, orders=240, products=24)


def _keys(db: DB) -> dict[str, set[Any]]:
    """Every identifying key of a DB, by kind."""
    users = db["users"].values()
    return {
        "user_id": set(db["users"]),
        "email": {u["email"] for u in users},
        "name": {(u["name"]["first_name"], u["name"]["last_name"]) for u in users},
        "order_id": set(db["orders"]),
        "payment_method_id": {pm for u in users for pm in u["payment_methods"]},
        "product_id": set(db["products"]),
        "item_id": {i for p in db["products"].values() for i in p["variants"]},
    }


def _net_cents(order: DB, pm_id: str | None = None) -> int:
    """Payments minus refunds of an order (optionally of one payment method), in cents."""
    total = 0
    for entry in order["payment_history"]:
        if pm_id is None or entry["payment_method_id"] == pm_id:
            sign = 1 if entry["transaction_type"] == "payment" else -1
            total += sign * round(entry["amount"] * 100)
    return total


def _item_cents(items: list[DB]) -> int:
    return sum(round(item["price"] * 100) for item in items)


def _variant(db: DB, item_id: str) -> DB:
    for product in db["products"].values():
        if item_id in product["variants"]:
            return {**product["variants"][item_id], "product_id": product["product_id"]}
    raise KeyError(item_id)


def _shares_product(a: DB, b: DB) -> bool:
    return bool({i["product_id"] for i in a["items"]} & {i["product_id"] for i in b["items"]})


def test_validates_and_has_requested_sizes(db: DB) -> None:
    model = RetailDB.model_validate(db)
    assert (len(model.users), len(model.orders), len(model.products)) == (120, 240, 24)
    assert model.model_dump() == db
    for order_id, order in db["orders"].items():
        assert order_id in db["users"][order["user_id"]]["orders"]
    assert sum(len(u["orders"]) for u in db["users"].values()) == 240


def test_same_arguments_same_bytes_other_seed_differs(tmp_path: Path) -> None:
    paths = [tmp_path / "a.json", tmp_path / "b.json", tmp_path / "c.json"]
    write_db(generate_db(3, 30, 60, 10), paths[0])
    write_db(generate_db(3, 30, 60, 10), paths[1])
    write_db(generate_db(4, 30, 60, 10), paths[2])
    assert paths[0].read_bytes() == paths[1].read_bytes()
    assert paths[0].read_bytes() != paths[2].read_bytes()


def test_write_db_format_and_no_leftovers(tmp_path: Path, db: DB) -> None:
    path = tmp_path / "sub" / "db.json"
    write_db(db, path)
    text = path.read_text(encoding="utf-8")
    assert text == json.dumps(db, indent=2, ensure_ascii=False) + "\n"
    assert json.loads(text) == db
    assert [p.name for p in path.parent.iterdir()] == ["db.json"]


def test_ids_unique_within_db(db: DB) -> None:
    users = list(db["users"].values())
    names = [(u["name"]["first_name"], u["name"]["last_name"]) for u in users]
    assert len(set(names)) == len(names)
    assert len({u["email"] for u in users}) == len(users)
    pm_ids = [pm for u in users for pm in u["payment_methods"]]
    assert len(set(pm_ids)) == len(pm_ids)
    item_ids = [i for p in db["products"].values() for i in p["variants"]]
    assert len(set(item_ids)) == len(item_ids)
    assert not set(item_ids) & set(db["products"])
    tracking = [
        t for o in db["orders"].values() for f in o["fulfillments"] for t in f["tracking_id"]
    ]
    assert len(set(tracking)) == len(tracking)


def test_catalogue_and_variants(db: DB) -> None:
    assert len(CATALOGUE) >= 20
    assert all(2 <= len(options) <= 4 for _, _, options in CATALOGUE)
    unavailable = 0
    for product in db["products"].values():
        variants = list(product["variants"].values())
        unavailable += sum(not v["available"] for v in variants)
        twins = [
            (a, b)
            for a, b in itertools.combinations(variants, 2)
            if a["available"]
            and b["available"]
            and sum(a["options"][k] != b["options"][k] for k in a["options"]) == 1
        ]
        assert twins, product["name"]
        assert all(1 <= v["price"] <= 5000 for v in variants)
    assert unavailable > 0


def test_too_many_products_rejected() -> None:
    with pytest.raises(ValueError):
        generate_db(1, 5, 5, len(CATALOGUE) + 1)
    with pytest.raises(ValueError):
        generate_db(1, 5, 5, 0)


def test_status_mix(db: DB) -> None:
    counts = Counter(o["status"] for o in db["orders"].values())
    assert set(counts) == ALL_STATUSES
    assert counts["pending"] + counts["delivered"] > 240 / 2
    assert all(counts[s] >= 3 for s in ALL_STATUSES)


def test_multi_order_users(db: DB) -> None:
    users = list(db["users"].values())
    multi = [u for u in users if len(u["orders"]) >= 2]
    assert len(multi) >= len(users) // 4
    sharing, same_item = 0, 0
    for user in multi:
        pending = [
            db["orders"][o] for o in user["orders"] if db["orders"][o]["status"] == "pending"
        ]
        pairs = [(a, b) for a, b in itertools.combinations(pending, 2) if _shares_product(a, b)]
        sharing += bool(pairs)
        same_item += any(
            {i["item_id"] for i in a["items"]} & {i["item_id"] for i in b["items"]}
            for a, b in pairs
        )
    assert sharing >= 5
    assert same_item >= 1


def test_fields_match_status(db: DB) -> None:
    for order in db["orders"].values():
        status = order["status"]
        shipped = sorted(i for f in order["fulfillments"] for i in f["item_ids"])
        if status in SHIPPED:
            assert shipped == sorted(i["item_id"] for i in order["items"])
            assert all(len(t) == 12 for f in order["fulfillments"] for t in f["tracking_id"])
        else:
            assert shipped == []
        assert (order["cancel_reason"] is not None) == (status == "cancelled")
        assert (order["return_items"] is not None) == (status == "return requested")
        assert (order["exchange_items"] is not None) == (status == "exchange requested")
        if status == "cancelled":
            assert order["cancel_reason"] in CANCEL_REASONS
            kinds = [e["transaction_type"] for e in order["payment_history"]]
            assert kinds == ["payment", "refund"]


def test_return_and_exchange_requests(db: DB) -> None:
    for order in db["orders"].values():
        item_ids = Counter(i["item_id"] for i in order["items"])
        user = db["users"][order["user_id"]]
        if order["status"] == "return requested":
            assert not Counter(order["return_items"]) - item_ids
            pm_id = order["return_payment_method_id"]
            original = order["payment_history"][0]["payment_method_id"]
            assert pm_id == original or user["payment_methods"][pm_id]["source"] == "gift_card"
        if order["status"] == "exchange requested":
            assert not Counter(order["exchange_items"]) - item_ids
            old = [_variant(db, i) for i in order["exchange_items"]]
            new = [_variant(db, i) for i in order["exchange_new_items"]]
            assert sorted(v["product_id"] for v in old) == sorted(v["product_id"] for v in new)
            assert all(v["available"] for v in new)
            assert not set(order["exchange_items"]) & set(order["exchange_new_items"])
            diff = _item_cents(new) - _item_cents(old)
            assert round(order["exchange_price_difference"] * 100) == diff
            assert order["exchange_payment_method_id"] in user["payment_methods"]


def test_payment_histories_consistent(db: DB) -> None:
    for order in db["orders"].values():
        history = order["payment_history"]
        user_methods = db["users"][order["user_id"]]["payment_methods"]
        assert all(e["payment_method_id"] in user_methods for e in history)
        assert history[0]["transaction_type"] == "payment"
        if order["status"] == "pending":
            assert len(history) == 1
            assert abs(history[0]["amount"] - _item_cents(order["items"]) / 100) < 0.01
        elif order["status"] == "cancelled":
            assert _net_cents(order) == 0
        else:
            assert abs(_net_cents(order) - _item_cents(order["items"])) <= 1
        if order["status"] == "pending (item modified)":
            assert len(history) == 2


def test_gift_cards_plausible(db: DB) -> None:
    cards = {
        pm_id: pm
        for u in db["users"].values()
        for pm_id, pm in u["payment_methods"].items()
        if pm["source"] == "gift_card"
    }
    assert any(pm["balance"] < 20 for pm in cards.values())
    used = 0
    for pm_id, card in cards.items():
        orders = [o for o in db["orders"].values() if o["payment_history"]]
        net = sum(_net_cents(o, pm_id) for o in orders)
        payments = [
            e["amount"]
            for o in orders
            for e in o["payment_history"]
            if e["payment_method_id"] == pm_id and e["transaction_type"] == "payment"
        ]
        face = round(card["balance"] * 100) + net
        assert card["balance"] >= 0
        assert face in {100 * v for v in GIFT_CARD_VALUES}, pm_id
        assert all(amount * 100 <= face for amount in payments)
        used += bool(payments)
    assert used >= 5


def test_disjoint_from_own_output_as_reference() -> None:
    first = generate_db(11, 40, 80, 15)
    second = generate_db(11, 40, 80, 15, reference=first)
    mine, theirs = _keys(second), _keys(first)
    for kind in mine:
        assert not mine[kind] & theirs[kind], kind


@pytest.mark.shared
def test_disjoint_from_tau2_reference() -> None:
    if not TAU2_DB.is_file():
        pytest.skip(f"tau2 Retail DB not found at {TAU2_DB} (needs ../shared/tau2-retail)")
    reference = json.loads(TAU2_DB.read_text(encoding="utf-8"))
    db = generate_db(7, 120, 240, 24, reference=reference)
    mine, theirs = _keys(db), _keys(reference)
    for kind in mine:
        assert not mine[kind] & theirs[kind], kind
    all_ref_ids = set().union(*(v for k, v in theirs.items() if k != "name"))
    assert not set(db["products"]) & all_ref_ids
    assert not {i for p in db["products"].values() for i in p["variants"]} & all_ref_ids


@pytest.mark.shared
def test_shipped_db_is_reproducible(tmp_path: Path) -> None:
    shipped = REPO_ROOT / "datasets" / "retail" / "db.json"
    if not TAU2_DB.is_file():
        pytest.skip(f"tau2 Retail DB not found at {TAU2_DB} (needs ../shared/tau2-retail)")
    reference = json.loads(TAU2_DB.read_text(encoding="utf-8"))
    out = tmp_path / "db.json"
    write_db(generate_db(7, 120, 240, 24, reference=reference), out)
    assert out.read_bytes() == shipped.read_bytes()
