"""Blueprints: grounded situations that provoke one failure pattern, with their gold actions.

Retail's blueprint samplers: a sampler queries a Retail DB for a situation that invites a known
agent failure and builds the gold action sequence for it; the writer
(:mod:`taskforge.synthesis.writer`) then turns the blueprint into a user scenario with the
difficulty put into the wording. The samplers live in :data:`SAMPLERS` (one per failure family, open
to new ones through :func:`register_sampler`):

* ``multi_order`` - the user has two or more orders in the status the write (a cancellation,
  an address or a payment change) needs, and the target shares a product with another of
  them; the user does not know the order ids and names the target only by another product
  that no other candidate order contains (provokes ``wrong_order``);
* ``variant_selection`` - a swap to a variant that differs in exactly one option from another
  available variant of the same product, on an option the swap keeps as it is; the user
  states only the options that change, so both variants fit until one clarifying question
  (provokes ``wrong_variant``);
* ``multi_write`` - two or three writes in one call, each on an order that is the user's only
  candidate for its tool, so that keeping track of every request is the one difficulty
  (provokes ``early_stop``);
* ``payment_difference`` - a swap whose positive price difference must be paid with a gift
  card that is not the order's original method, which the user insists on
  (``skip_confirmation``: an unconfirmed write charges the original method).

Every blueprint is checked by replaying its gold actions on a fresh copy of the DB.
"""

from __future__ import annotations

import random
import re
from typing import Any

from taskforge.domains.retail.tools import (
    CANCEL_REASONS,
    LOOSE_PENDING_TOOLS,
    REQUIRED_ORDER_STATUS,
)
from taskforge.env.db import Database, Record
from taskforge.synthesis.blueprints import (
    Blueprint,
    Identity,
    Request,
    Sampler,
    with_changes,
)
from taskforge.synthesis.grounding import (
    Call,
    address_words,
    alternatives,
    can_pay,
    distinct_addresses,
    distinct_items,
    item_words,
    name_zip,
    options_text,
    user_methods,
)

FAMILY_PATTERNS: dict[str, str] = {
    "multi_order": "wrong_order",
    "variant_selection": "wrong_variant",
    "multi_write": "early_stop",
    "payment_difference": "skip_confirmation",
}
"""The failure pattern (a scripted-policy error mode) that each built-in family targets."""

_CANCEL = "cancel_pending_order"
_ADDRESS = "modify_pending_order_address"
_PAYMENT = "modify_pending_order_payment"
_ITEMS = "modify_pending_order_items"
_RETURN = "return_delivered_order_items"
_EXCHANGE = "exchange_delivered_order_items"
_SWAP_TOOLS = (_EXCHANGE, _ITEMS)


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


def _squash(text: str) -> str:
    return re.sub(r"[^a-z0-9#]", "", text.lower())


def identity_of(db: Database, user: Record, rng: random.Random) -> tuple[Identity, Call] | None:
    """A unique identity of the user (email or name + zip) and its lookup call."""
    users = db.tables["users"].values()
    email_ok = sum(u["email"].lower() == user["email"].lower() for u in users) == 1
    zip_ok = sum(name_zip(u) == name_zip(user) for u in users) == 1
    first, last = user["name"]["first_name"], user["name"]["last_name"]
    if email_ok and (not zip_ok or rng.random() < 0.5):
        lookup: Call = ("find_user_id_by_email", {"email": user["email"]})
        return Identity(first, last, email=user["email"]), lookup
    if not zip_ok:
        return None
    zip_code = user["address"]["zip"]
    args = {"first_name": first, "last_name": last, "zip": zip_code}
    return Identity(first, last, zip=zip_code), ("find_user_id_by_name_zip", args)


def _status_ok(status: str, tool: str) -> bool:
    wanted = REQUIRED_ORDER_STATUS[tool]
    return wanted in status if tool in LOOSE_PENDING_TOOLS else status == wanted


def candidates(db: Database, user: Record, tool: str) -> list[str]:
    """The user's orders that ``tool`` could act on."""
    orders = db.tables["orders"]
    return [oid for oid in user["orders"] if _status_ok(orders[oid]["status"], tool)]


def _random_user(db: Database, rng: random.Random) -> Record:
    users = db.tables["users"]
    return users[rng.choice(sorted(users))]


def assemble_blueprint(
    family: str,
    db: Database,
    user: Record,
    rng: random.Random,
    parts: list[tuple[Request, list[Call]]],
) -> Blueprint | None:
    """Assemble a blueprint: identity lookup, user details, then each request's calls."""
    auth = identity_of(db, user, rng)
    if auth is None or not parts:
        return None
    identity, lookup = auth
    actions: list[Call] = [lookup, ("get_user_details", {"user_id": user["user_id"]})]
    for _, calls in parts:
        actions += calls
    return Blueprint(
        family=family,
        pattern=FAMILY_PATTERNS[family],
        user_id=user["user_id"],
        identity=identity,
        actions=tuple(actions),
        requests=tuple(r for r, _ in parts),
        knobs={"identity": "email" if identity.email else "name_zip"},
        domain="retail",
    )


# -- one write, as a request and its calls ----------------------------------------------------


def _cancel(order: Record, rng: random.Random) -> tuple[Request, list[Call]]:
    reason, oid = rng.choice(CANCEL_REASONS), order["order_id"]
    request = Request(_CANCEL, oid, "pending", reason=reason)
    return request, [("cancel_pending_order", {"order_id": oid, "reason": reason})]


def _new_address(db: Database, order: Record, rng: random.Random) -> tuple[Request, list[Call]]:
    addresses = [
        a for a in distinct_addresses(db.tables["users"].values()) if a != order["address"]
    ]
    address, oid = rng.choice(addresses), order["order_id"]
    request = Request(_ADDRESS, oid, "pending", address=address_words(address))
    return request, [(_ADDRESS, {"order_id": oid, **address})]


def _new_payment(
    user: Record, order: Record, rng: random.Random
) -> tuple[Request, list[Call]] | None:
    history = order["payment_history"]
    if len(history) != 1 or history[0]["transaction_type"] != "payment":
        return None
    old, amount, methods = history[0]["payment_method_id"], history[0]["amount"], user_methods(user)
    usable = [m for m in methods if m != old and can_pay(user["payment_methods"][m], amount)]
    if not usable or old not in methods:
        return None
    new, oid = rng.choice(usable), order["order_id"]
    request = Request(_PAYMENT, oid, "pending", payment=methods[new], original_payment=methods[old])
    return request, [(_PAYMENT, {"order_id": oid, "payment_method_id": new})]


def _return(user: Record, order: Record, items: list[Record]) -> tuple[Request, list[Call]] | None:
    original = order["payment_history"][0]["payment_method_id"]
    methods = user_methods(user)
    if original not in methods or not items:
        return None
    args = {"order_id": order["order_id"], "item_ids": [i["item_id"] for i in items]}
    request = Request(
        _RETURN,
        order["order_id"],
        "delivered",
        items=tuple(item_words(i) for i in items),
        payment=methods[original],
    )
    return request, [(_RETURN, {**args, "payment_method_id": original})]


def _write_for(
    db: Database, user: Record, order: Record, tool: str, rng: random.Random
) -> tuple[Request, list[Call]] | None:
    """A write of ``tool`` on ``order`` (cancel, address, payment or a one-item return)."""
    if tool == _CANCEL:
        return _cancel(order, rng)
    if tool == _ADDRESS:
        return _new_address(db, order, rng)
    if tool == _PAYMENT:
        return _new_payment(user, order, rng)
    items = distinct_items(order)
    return _return(user, order, [rng.choice(items)]) if items else None


def _with_read(part: tuple[Request, list[Call]] | None) -> tuple[Request, list[Call]] | None:
    """Prefix the order read that a careful agent makes before the write."""
    if part is None:
        return None
    request, calls = part
    return request, [("get_order_details", {"order_id": request.order_id}), *calls]


# -- multi_order --------------------------------------------------------------------------------


def order_hint(
    db: Database, user: Record, target: Record, tool: str, rng: random.Random
) -> tuple[str, str] | None:
    """A product that singles ``target`` out among the user's orders ``tool`` could act on,
    and a product it shares with another of them; None unless both exist.

    The hint is in the target and in no other candidate, and no other candidate's product
    name occurs inside its words, so a wording by product stays determinable.
    """
    orders = db.tables["orders"]
    others = [orders[c] for c in candidates(db, user, tool) if c != target["order_id"]]
    other_names = {i["name"] for o in others for i in o["items"]}
    shared = sorted({i["name"] for i in target["items"]} & other_names)
    hints = [
        i
        for i in distinct_items(target)
        if not any(_squash(n) in _squash(item_words(i)) for n in other_names)
    ]
    if not shared or not hints:
        return None
    return rng.choice(hints)["name"], shared[0]


def sample_multi_order(db: Database, rng: random.Random) -> Blueprint | None:
    """A user with >= 2 candidate orders sharing a product; the target is named by another."""
    tool = rng.choice((_CANCEL, _ADDRESS, _PAYMENT))
    user = _random_user(db, rng)
    found = candidates(db, user, tool)
    if len(found) < 2:
        return None
    target = db.tables["orders"][rng.choice(found)]
    hint = order_hint(db, user, target, tool, rng)
    part = _with_read(_write_for(db, user, target, tool, rng)) if hint else None
    if hint is None or part is None:
        return None
    request = with_changes(part[0], order_hint=hint[0])
    bp = assemble_blueprint("multi_order", db, user, rng, [(request, part[1])])
    if bp is not None:
        bp.knobs.update(order_reference="by_product", shared_product=hint[1])
        bp.knobs["n_candidates"] = str(len(found))
    return bp


# -- swaps (variant_selection, payment_difference) ----------------------------------------------


def _differs_by_one(a: Record, b: Record) -> str | None:
    """The one option on which two variants differ, or None (none or several differ)."""
    keys = set(a["options"]) | set(b["options"])
    diff = [k for k in sorted(keys) if a["options"].get(k) != b["options"].get(k)]
    return diff[0] if len(diff) == 1 else None


def near_misses(product: Record, item: Record) -> list[tuple[Record, Record, str]]:
    """(target, near-identical other, differing option) among the available variants."""
    variants = [
        v
        for v in product["variants"].values()
        if v["available"] and v["item_id"] != item["item_id"]
    ]
    pairs = []
    for target in alternatives(product, item):
        for other in variants:
            key = _differs_by_one(target, other) if other is not target else None
            if key is not None:
                pairs.append((target, other, key))
    return pairs


def _swap_part(
    order: Record,
    tool: str,
    swaps: list[tuple[Record, Record]],
    payer: str,
    user: Record,
    **extra: Any,
) -> tuple[Request, list[Call]]:
    """Request and calls (order read, product reads, the swap) of an item swap (``extra``
    overrides request fields, e.g. vague ``new_options``)."""
    oid = order["order_id"]
    args = {
        "order_id": oid,
        "item_ids": [old["item_id"] for old, _ in swaps],
        "new_item_ids": [new["item_id"] for _, new in swaps],
        "payment_method_id": payer,
    }
    fields: dict[str, Any] = {
        "items": tuple(item_words(old) for old, _ in swaps),
        "new_options": tuple(options_text(new["options"]) for _, new in swaps),
        "payment": user_methods(user)[payer],
        **extra,
    }
    request = Request(tool, oid, REQUIRED_ORDER_STATUS[tool], **fields)
    pids = dict.fromkeys(old["product_id"] for old, _ in swaps)
    reads: list[Call] = [("get_product_details", {"product_id": p}) for p in pids]
    return request, [("get_order_details", {"order_id": oid}), *reads, (tool, args)]


def _swap_order(db: Database, rng: random.Random, tool: str) -> tuple[Record, Record] | None:
    """A random order in the status a swap tool needs, and its owner."""
    orders = db.tables["orders"]
    oid = rng.choice(sorted(orders))
    order = orders[oid]
    if order["status"] != REQUIRED_ORDER_STATUS[tool] or not distinct_items(order):
        return None
    return order, db.tables["users"][order["user_id"]]


def split_options(item: Record, new: Record) -> tuple[str, str]:
    """The new variant's options that change, and those it keeps from the item, in words."""
    changed = {k: v for k, v in new["options"].items() if item["options"].get(k) != v}
    kept = {k: v for k, v in new["options"].items() if k not in changed}
    return options_text(changed), options_text(kept)


def sample_variant_selection(db: Database, rng: random.Random) -> Blueprint | None:
    """A swap to a variant that differs in exactly one option, which the swap keeps, from
    another available one: stated by what changes, the description fits both."""
    tool = rng.choice(_SWAP_TOOLS)
    picked = _swap_order(db, rng, tool)
    if picked is None:
        return None
    order, user = picked
    item = rng.choice(distinct_items(order))
    pairs = [
        (target, other, key)
        for target, other, key in near_misses(db.tables["products"][item["product_id"]], item)
        if target["options"].get(key) == item["options"].get(key)
    ]
    if not pairs:
        return None
    target, other, key = rng.choice(pairs)
    diff = round(target["price"] - item["price"], 2)
    methods = user_methods(user)
    original = order["payment_history"][0]["payment_method_id"]
    usable = [m for m in methods if can_pay(user["payment_methods"][m], diff)]
    if not usable:
        return None
    payer = original if original in usable else rng.choice(usable)
    near = (f"{key}: {other['options'][key]}",)
    changed, kept = split_options(item, target)
    part = _swap_part(
        order,
        tool,
        [(item, target)],
        payer,
        user,
        near_miss=near,
        new_options=(changed,),
        kept_options=(kept,),
    )
    bp = assemble_blueprint("variant_selection", db, user, rng, [part])
    if bp is not None:
        bp.knobs.update(variant_description="what_changes", differing_option=key)
    return bp


def sample_payment_difference(db: Database, rng: random.Random) -> Blueprint | None:
    """A swap costing more, paid with a gift card that is not the original payment method."""
    tool = rng.choice(_SWAP_TOOLS)
    picked = _swap_order(db, rng, tool)
    if picked is None:
        return None
    order, user = picked
    original = order["payment_history"][0]["payment_method_id"]
    methods = user_methods(user)
    cards = [
        m for m in methods if m != original and user["payment_methods"][m]["source"] == "gift_card"
    ]
    if not cards or original not in methods:
        return None
    card = rng.choice(cards)
    balance = user["payment_methods"][card]["balance"]
    options = [
        (item, new)
        for item in distinct_items(order)
        for new in alternatives(db.tables["products"][item["product_id"]], item)
        if 0 < new["price"] - item["price"] <= balance
    ]
    if not options:
        return None
    swap = rng.choice(options)
    part = _swap_part(order, tool, [swap], card, user, original_payment=methods[original])
    bp = assemble_blueprint("payment_difference", db, user, rng, [part])
    if bp is not None:
        bp.knobs.update(
            payment="gift_card", price_difference=f"{swap[1]['price'] - swap[0]['price']:.2f}"
        )
    return bp


# -- multi_write --------------------------------------------------------------------------------


_PENDING_PLANS = ((_ADDRESS,), (_PAYMENT,), (_CANCEL,), (_ADDRESS, _PAYMENT), (_PAYMENT, _CANCEL))
"""Writes on a user's one pending order: one, or two in a row."""


def _pending_writes(
    db: Database, user: Record, order: Record, rng: random.Random
) -> list[tuple[Request, list[Call]]]:
    """One or two writes on the user's only pending order (none if it is not the only one)."""
    if candidates(db, user, _ADDRESS) != [order["order_id"]] or order["status"] != "pending":
        return []
    parts = [_with_read(_write_for(db, user, order, t, rng)) for t in rng.choice(_PENDING_PLANS)]
    return [p for p in parts if p is not None]


def _isolated_return(
    db: Database, user: Record, order: Record, rng: random.Random
) -> list[tuple[Request, list[Call]]]:
    """A one-item return whose product no other delivered order of the user contains."""
    orders = db.tables["orders"]
    others = {
        i["product_id"]
        for oid in candidates(db, user, _RETURN)
        if oid != order["order_id"]
        for i in orders[oid]["items"]
    }
    items = [i for i in distinct_items(order) if i["product_id"] not in others]
    part = _with_read(_return(user, order, [rng.choice(items)])) if items else None
    return [part] if part is not None else []


def sample_multi_write(db: Database, rng: random.Random) -> Blueprint | None:
    """Two or three writes of one user, each order named by id and the only candidate order
    of its tool (so no write can go to a confusable order)."""
    user = _random_user(db, rng)
    orders = db.tables["orders"]
    oids = [o for o in user["orders"] if orders[o]["status"] in ("pending", "delivered")]
    rng.shuffle(oids)
    parts: list[tuple[Request, list[Call]]] = []
    for oid in oids:
        order = orders[oid]
        if order["status"] == "pending":
            parts += _pending_writes(db, user, order, rng)
        else:
            parts += _isolated_return(db, user, order, rng)
    parts = parts[:3]
    if len(parts) < 2:
        return None
    bp = assemble_blueprint("multi_write", db, user, rng, parts)
    if bp is not None:
        bp.knobs.update(n_writes=str(len(parts)), order_reference="by_id")
    return bp


register_sampler("multi_order", sample_multi_order)
register_sampler("variant_selection", sample_variant_selection)
register_sampler("multi_write", sample_multi_write)
register_sampler("payment_difference", sample_payment_difference)

__all__ = [
    "FAMILY_PATTERNS",
    "SAMPLERS",
    "assemble_blueprint",
    "candidates",
    "identity_of",
    "near_misses",
    "order_hint",
    "register_sampler",
    "split_options",
]
