"""Retail's explorer knowledge: the family goals, and an exploration's writes as a blueprint.

Each successful write becomes a :class:`~taskforge.synthesis.blueprints.Request` described
from the records as they were just before it, and the family's difficulty is then fitted to the
situation found (the product that singles out one of several candidate orders, the options
that change for a variant close to another, the gift card that pays a difference).
"""

from __future__ import annotations

import random
from typing import Any

from taskforge.domains.retail.blueprints import (
    FAMILY_PATTERNS,
    assemble_blueprint,
    candidates,
    near_misses,
    order_hint,
    split_options,
)
from taskforge.domains.retail.tools import REQUIRED_ORDER_STATUS, RetailTools
from taskforge.env.db import Database, Record, State
from taskforge.env.environment import Environment
from taskforge.synthesis.blueprints import Blueprint, Request, with_changes
from taskforge.synthesis.grounding import (
    Call,
    address_words,
    item_words,
    options_text,
    user_methods,
)

EXPLORER = "llm-explorer-v1"
"""The explorer's name in the blueprints' knobs (the generic explorer's lineage name)."""
ADDRESS_KEYS = ("address1", "address2", "city", "state", "country", "zip")
SWAPS = ("exchange_delivered_order_items", "modify_pending_order_items")
EXPLORER_GOALS: dict[str, str] = {
    "multi_order": (
        "find two of this user's orders in the same status that contain the same product, "
        "and make one change to one of them: cancel it, change its shipping address, or change "
        "its payment method."
    ),
    "variant_selection": (
        "find an item in one of this user's pending or delivered orders whose product has "
        "several available variants that differ in a single option, and swap the item for one "
        "of them (modify_pending_order_items or exchange_delivered_order_items)."
    ),
    "multi_write": (
        "make two or three different changes for this user in one go, on their pending or "
        "delivered orders (cancel, change an address or a payment method, return an item)."
    ),
    "payment_difference": (
        "swap an item of one of this user's orders for a more expensive variant of the same "
        "product, paying the difference with a gift card of the user that is not the order's "
        "original payment method."
    ),
}


def _request(state: State, user: Record, name: str, args: dict[str, Any]) -> Request | None:
    """The request behind one write, in words, from the records just before it."""
    order = state.get("orders", str(args.get("order_id")))
    status = REQUIRED_ORDER_STATUS.get(name)
    if order is None or status is None:
        return None
    oid, methods = order["order_id"], user_methods(user)
    if name == "cancel_pending_order":
        return Request(name, oid, status, reason=str(args.get("reason")))
    if name == "modify_pending_order_address":
        return Request(name, oid, status, address=address_words({k: args[k] for k in ADDRESS_KEYS}))
    payment = methods.get(str(args.get("payment_method_id")))
    if payment is None:
        return None
    if name == "modify_pending_order_payment":
        old = order["payment_history"][0]["payment_method_id"]
        return Request(name, oid, status, payment=payment, original_payment=methods.get(old))
    items = [next((i for i in order["items"] if i["item_id"] == x), None) for x in args["item_ids"]]
    if any(i is None for i in items):
        return None
    words = tuple(item_words(i) for i in items if i is not None)
    if name not in SWAPS:
        return Request(name, oid, status, items=words, payment=payment)
    new = [_variant(state, i, x) for i, x in zip(items, args["new_item_ids"], strict=False)]
    options = tuple(options_text(v["options"]) for v in new if v is not None)
    return Request(name, oid, status, items=words, new_options=options, payment=payment)


def _variant(state: State, item: Record | None, new_id: str) -> Record | None:
    product = state.get("products", str(item["product_id"])) if item else None
    return product["variants"].get(new_id) if product else None


def requests_for_writes(
    db: Database, user: Record, writes: list[Call]
) -> list[tuple[Request, list[Call]]]:
    """Each write as a request with its calls (order read, the write), in order."""
    env = Environment(RetailTools, db)
    parts = []
    for name, args in writes:
        request = _request(env.state, user, name, args)
        if request is None:
            return []
        parts.append(
            (request, [("get_order_details", {"order_id": request.order_id}), (name, args)])
        )
        env.execute(name, dict(args))
    return parts


def blueprint_from_writes(
    db: Database, family: str, user: Record, writes: list[Call], rng: random.Random
) -> Blueprint | None:
    """The blueprint of an exploration's writes, its difficulty fitted to ``family``."""
    parts = requests_for_writes(db, user, writes)
    shaped = _shape(db, family, user, parts, rng) if parts else None
    if shaped is None:
        return None
    bp = assemble_blueprint(family, db, user, rng, shaped)
    if bp is not None:
        bp.knobs.update(source=EXPLORER, n_writes=str(len(shaped)))
    return bp


def _shape(
    db: Database,
    family: str,
    user: Record,
    parts: list[tuple[Request, list[Call]]],
    rng: random.Random,
) -> list[tuple[Request, list[Call]]] | None:
    """The requests with the family's difficulty, or None when the situation does not fit."""
    if family not in FAMILY_PATTERNS:
        return None
    if family == "multi_write":
        return parts if len(parts) >= 2 else None
    if len(parts) != 1:
        return None
    request, calls = parts[0]
    changed = _fit(db, family, user, request, calls[-1][1], rng)
    return [(changed, calls)] if changed is not None else None


def _fit(
    db: Database,
    family: str,
    user: Record,
    request: Request,
    args: dict[str, Any],
    rng: random.Random,
) -> Request | None:
    order = db.tables["orders"][request.order_id]
    if family == "multi_order":
        if len(candidates(db, user, request.tool)) < 2:
            return None
        hint = order_hint(db, user, order, request.tool, rng)
        return with_changes(request, order_hint=hint[0]) if hint else None
    if request.tool not in SWAPS or len(args["item_ids"]) != 1:
        return None
    item = next(i for i in order["items"] if i["item_id"] == args["item_ids"][0])
    product = db.tables["products"][item["product_id"]]
    new = product["variants"][args["new_item_ids"][0]]
    if family == "variant_selection":
        close = [
            (o, k)
            for t, o, k in near_misses(product, item)
            if t["item_id"] == new["item_id"] and new["options"].get(k) == item["options"].get(k)
        ]
        if not close:
            return None
        changed, kept = split_options(item, new)
        near = (f"{close[0][1]}: {close[0][0]['options'][close[0][1]]}",)
        return with_changes(request, new_options=(changed,), kept_options=(kept,), near_miss=near)
    original = order["payment_history"][0]["payment_method_id"]
    payer = user["payment_methods"].get(str(args["payment_method_id"]), {})
    if payer.get("source") != "gift_card" or args["payment_method_id"] == original:
        return None
    if new["price"] <= item["price"]:
        return None
    return with_changes(request, original_payment=user_methods(user).get(original))


__all__ = [
    "ADDRESS_KEYS",
    "EXPLORER_GOALS",
    "SWAPS",
    "blueprint_from_writes",
    "requests_for_writes",
]
