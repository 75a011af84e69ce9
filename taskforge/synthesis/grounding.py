"""Grounding helpers shared by the seed sampler and the blueprint samplers.

How a user names records (items by product name and options, addresses, payment methods, never
by id) and which records can be picked (items named unambiguously, available other variants,
payment methods that can pay an amount).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from typing import Any

from taskforge.env.db import Record

CANCEL_WORDS = {
    "no longer needed": "no longer need it",
    "ordered by mistake": "ordered it by mistake",
}


Call = tuple[str, dict[str, Any]]


def name_zip(user: Record) -> tuple[str, str, str]:
    """(first name, last name, zip) of a user, lower-cased: what name + zip lookups match."""
    name = user["name"]
    return name["first_name"].lower(), name["last_name"].lower(), user["address"]["zip"]


def distinct_addresses(users: Iterable[Record]) -> list[Record]:
    """The users' addresses, each once, in order."""
    seen: dict[str, Record] = {}
    for user in users:
        seen.setdefault(json.dumps(user["address"], sort_keys=True), user["address"])
    return list(seen.values())


def options_text(options: dict[str, str]) -> str:
    """Options as ``key: value, key: value``."""
    return ", ".join(f"{k}: {v}" for k, v in options.items())


def item_words(item: Record) -> str:
    """An item by product name and options, never by id."""
    return f"{item['name']} ({options_text(item['options'])})" if item["options"] else item["name"]


def items_words(items: list[Record]) -> str:
    """Items in words: ``A``, ``A and B``, ``A, B and C``."""
    words = [item_words(i) for i in items]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def address_words(address: Record) -> str:
    """An address as one line of words."""
    parts = [address["address1"], address["address2"], address["city"]]
    parts.append(f"{address['state']} {address['zip']}")
    parts.append(address["country"])
    return ", ".join(p for p in parts if p)


def method_words(method: Record) -> str:
    """A payment method as the user names it (card brand and last four digits, ...)."""
    if method["source"] == "credit_card":
        return f"your {method['brand']} credit card ending in {method['last_four']}"
    if method["source"] == "gift_card":
        return "your gift card"
    return "your PayPal account"


def user_methods(user: Record) -> dict[str, str]:
    """Payment methods the user can name unambiguously: id -> words."""
    words = {mid: method_words(m) for mid, m in user["payment_methods"].items()}
    counts = Counter(words.values())
    return {mid: w for mid, w in words.items() if counts[w] == 1}


def distinct_items(order: Record) -> list[Record]:
    """Items of the order that the user can name unambiguously (one unit, unique words)."""
    ids = Counter(i["item_id"] for i in order["items"])
    words = Counter(item_words(i) for i in order["items"])
    return [i for i in order["items"] if ids[i["item_id"]] == 1 and words[item_words(i)] == 1]


def alternatives(product: Record, item: Record) -> list[Record]:
    """Available other variants of the item's product, each unique by its options."""
    words = Counter(options_text(v["options"]) for v in product["variants"].values())
    return [
        v
        for v in product["variants"].values()
        if v["available"]
        and v["item_id"] != item["item_id"]
        and words[options_text(v["options"])] == 1
    ]


def can_pay(method: Record, amount: float) -> bool:
    """Whether a payment method can pay ``amount`` (a gift card needs the balance)."""
    return method["source"] != "gift_card" or method["balance"] >= amount


__all__ = [
    "CANCEL_WORDS",
    "Call",
    "address_words",
    "alternatives",
    "can_pay",
    "distinct_addresses",
    "distinct_items",
    "item_words",
    "items_words",
    "method_words",
    "name_zip",
    "options_text",
    "user_methods",
]
