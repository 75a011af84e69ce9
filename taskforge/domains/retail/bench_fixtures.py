"""Retail's synthetic worlds for ``taskforge bench warehouse`` (entities, call plans, tasks).

Each world is one task and the records its trajectories talk about: a user with one to three
orders, the successful call plan (identity lookup, user and order reads, maybe a product read
and a calculation, then the write) with the tool outputs as JSON, and the task's gold actions.
"""

from __future__ import annotations

import random
from typing import Any

import orjson

from taskforge.contracts import Task
from taskforge.domains.retail.tools import RetailTools

TOOL_KINDS: dict[str, str] = {name: spec.kind.value for name, spec in RetailTools.specs.items()}
"""Tool name -> kind (read, write, generic, think)."""
_FIRST = ("yusuf", "mia", "omar", "sofia", "liam", "aarav", "emma", "noah", "isabella", "chen")
_LAST = ("rossi", "garcia", "kim", "patel", "lopez", "smith", "nguyen", "muller", "silva", "ito")
_CITIES = (("Austin", "TX", "78701"), ("Denver", "CO", "80202"), ("Columbus", "OH", "43215"))
PRODUCTS = ("T-Shirt", "Water Bottle", "Desk Lamp", "Hiking Boots", "Backpack", "Headphones")
_PATTERNS = ("missing_action", "wrong_argument", "multi_record_confusion", "execution_control")


def _rand_digits(rng: random.Random, n: int) -> str:
    return str(rng.randint(10 ** (n - 1), 10**n - 1))


def _entities(rng: random.Random) -> dict[str, Any]:
    first, last = rng.choice(_FIRST), rng.choice(_LAST)
    orders = [f"#W{_rand_digits(rng, 7)}" for _ in range(rng.randint(1, 3))]
    city, state, zip_code = rng.choice(_CITIES)
    return {
        "first": first,
        "last": last,
        "user_id": f"{first}_{last}_{_rand_digits(rng, 4)}",
        "email": f"{first}.{last}{_rand_digits(rng, 4)}@example.com",
        "address": {
            "address1": f"{rng.randint(10, 999)} Main Street",
            "address2": f"Suite {rng.randint(100, 999)}",
            "city": city,
            "country": "USA",
            "state": state,
            "zip": zip_code,
        },
        "orders": orders,
        "items": {o: [_rand_digits(rng, 10) for _ in range(rng.randint(1, 3))] for o in orders},
        "payment": rng.choice(("credit_card_", "gift_card_", "paypal_")) + _rand_digits(rng, 7),
        "product_id": _rand_digits(rng, 10),
    }


def _order_json(e: dict[str, Any], order: str, status: str, product: str) -> str:
    items = [
        {
            "name": product,
            "product_id": e["product_id"],
            "item_id": item,
            "price": 49.99 + i,
            "options": {"color": "blue", "size": "M"},
        }
        for i, item in enumerate(e["items"][order])
    ]
    payment = {"transaction_type": "payment", "amount": 49.99 * len(items)}
    return orjson.dumps(
        {
            "order_id": order,
            "user_id": e["user_id"],
            "address": e["address"],
            "items": items,
            "fulfillments": [],
            "status": status,
            "payment_history": [{**payment, "payment_method_id": e["payment"]}],
        }
    ).decode()


def _user_json(e: dict[str, Any]) -> str:
    return orjson.dumps(
        {
            "user_id": e["user_id"],
            "name": {"first_name": e["first"].title(), "last_name": e["last"].title()},
            "address": e["address"],
            "email": e["email"],
            "payment_methods": {e["payment"]: {"source": e["payment"][:-8], "id": e["payment"]}},
            "orders": e["orders"],
        }
    ).decode()


def _write_call(rng: random.Random, e: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    order = e["orders"][-1]
    items = e["items"][order]
    new_items = [_rand_digits(rng, 10) for _ in items]
    name = rng.choice(
        (
            "cancel_pending_order",
            "modify_pending_order_items",
            "modify_pending_order_address",
            "modify_pending_order_payment",
            "return_delivered_order_items",
            "exchange_delivered_order_items",
        )
    )
    args: dict[str, Any] = {"order_id": order}
    if name == "cancel_pending_order":
        args["reason"] = "no longer needed"
    elif name == "modify_pending_order_address":
        args.update(e["address"])
    elif name == "return_delivered_order_items":
        args.update(item_ids=items, payment_method_id=e["payment"])
    elif name == "modify_pending_order_payment":
        args["payment_method_id"] = e["payment"]
    else:
        args.update(item_ids=items, new_item_ids=new_items, payment_method_id=e["payment"])
    return name, args


def _plan(
    rng: random.Random, e: dict[str, Any], product: str, write: tuple[str, dict[str, Any]] | None
) -> list[tuple[str, dict[str, Any], str]]:
    status = "delivered" if write and "delivered" in write[0] else "pending"
    plan: list[tuple[str, dict[str, Any], str]] = [
        ("find_user_id_by_email", {"email": e["email"]}, e["user_id"]),
        ("get_user_details", {"user_id": e["user_id"]}, _user_json(e)),
    ]
    for order in e["orders"]:
        plan.append(
            ("get_order_details", {"order_id": order}, _order_json(e, order, status, product))
        )
    if rng.random() < 0.5:
        info = {"name": product, "product_id": e["product_id"], "variants": {}}
        plan.append(
            ("get_product_details", {"product_id": e["product_id"]}, orjson.dumps(info).decode())
        )
    if rng.random() < 0.2:
        plan.append(("calculate", {"expression": "49.99 * 2 - 10"}, "89.98"))
    if write is not None:
        done = "cancelled" if write[0].startswith("cancel") else status
        plan.append((write[0], write[1], _order_json(e, e["orders"][-1], done, product)))
    return plan


def _task(task_id: str, rng: random.Random, e: dict[str, Any], write: Any, product: str) -> Task:
    origin = rng.choices(("tau2", "seed", "targeted"), weights=(60, 15, 25))[0]
    targeted = origin == "targeted"
    gold = [("find_user_id_by_email", {"email": e["email"]})]
    gold += [("get_order_details", {"order_id": e["orders"][-1]})] + ([write] if write else [])
    data: dict[str, Any] = {
        "id": task_id,
        "user_scenario": {
            "persona": "Polite but in a hurry.",
            "instructions": {
                "domain": "retail",
                "reason_for_call": f"You want help with your recent order of a {product}.",
                "known_info": f"Your email is {e['email']}.",
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
    """One world: its task, the product it is about, the call plan and the write (or None)."""
    e = _entities(rng)
    product = rng.choice(PRODUCTS)
    write = _write_call(rng, e) if rng.random() < 0.85 else None
    task = _task(task_id, rng, e, write, product)
    return task, product, _plan(rng, e, product, write), write


__all__ = ["PRODUCTS", "TOOL_KINDS", "bench_world"]
