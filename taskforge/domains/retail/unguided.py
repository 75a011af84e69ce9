"""Retail's unguided candidates for ``taskforge bench synthesis``'s baseline.

A random write tool on a random order of a random user, with random arguments (any reason,
address, item, variant, payment method of the user): what synthesis costs without samplers
that query the DB for feasible, determinable situations.
"""

from __future__ import annotations

import random
from typing import Any

from taskforge.domains.retail.blueprints import identity_of
from taskforge.domains.retail.explore import ADDRESS_KEYS, requests_for_writes
from taskforge.domains.retail.tools import CANCEL_REASONS
from taskforge.env.db import Database, Record
from taskforge.synthesis.blueprints import Blueprint
from taskforge.synthesis.grounding import Call, distinct_addresses, user_methods

UNGUIDED_TOOLS = (
    "cancel_pending_order",
    "modify_pending_order_address",
    "modify_pending_order_payment",
    "modify_pending_order_items",
    "return_delivered_order_items",
    "exchange_delivered_order_items",
)


def _random_write(db: Database, user: Record, rng: random.Random) -> Call | None:
    """A write of a random tool on a random order of ``user`` with random arguments."""
    if not user["orders"]:
        return None
    tool = rng.choice(UNGUIDED_TOOLS)
    order = db.tables["orders"][rng.choice(user["orders"])]
    args: dict[str, Any] = {"order_id": order["order_id"]}
    methods = sorted(user_methods(user))
    if tool == "cancel_pending_order":
        return tool, {**args, "reason": rng.choice(CANCEL_REASONS)}
    if tool == "modify_pending_order_address":
        address = rng.choice(distinct_addresses(db.tables["users"].values()))
        return tool, {**args, **{k: address[k] for k in ADDRESS_KEYS}}
    if not methods:
        return None
    args["payment_method_id"] = rng.choice(methods)
    if tool == "modify_pending_order_payment":
        return tool, args
    item = rng.choice(order["items"])
    args["item_ids"] = [item["item_id"]]
    if tool == "return_delivered_order_items":
        return tool, args
    variants = sorted(db.tables["products"][item["product_id"]]["variants"])
    return tool, {**args, "new_item_ids": [rng.choice(variants)]}


def unguided_blueprint(db: Database, rng: random.Random) -> Blueprint | None:
    """One ungrounded candidate: a random user's random write (None when it cannot be
    worded, e.g. a user with no order)."""
    users = db.tables["users"]
    user = users[rng.choice(sorted(users))]
    write = _random_write(db, user, rng)
    auth = identity_of(db, user, rng)
    parts = requests_for_writes(db, user, [write]) if write and auth else []
    if not parts or auth is None:
        return None
    identity, lookup = auth
    actions: list[Call] = [lookup, ("get_user_details", {"user_id": user["user_id"]})]
    return Blueprint(
        family="unguided",
        pattern="unguided",
        user_id=user["user_id"],
        identity=identity,
        actions=(*actions, *parts[0][1]),
        requests=(parts[0][0],),
        knobs={"source": "unguided"},
        domain="retail",
    )


__all__ = ["UNGUIDED_TOOLS", "unguided_blueprint"]
