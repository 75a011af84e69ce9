"""The LLM explorer: an agent explores the environment and its successful writes become a blueprint.

RAFT's strong agent and SENTINEL's proposer work trajectory first: from a sampled starting
point (a user of the DB) the ``explorer`` role runs as an agent with the environment's tools
(``prompts/explorer.md``: the family's goal, no customer in the loop) on a fresh copy of the
DB. The writes that succeeded, in order, are the gold actions; each becomes a
:class:`~taskforge.synthesis.blueprints.Request` described from the records as they were just
before it, and the family's difficulty is then fitted to the situation found (the product
that singles out one of several candidate orders, the options that change for a variant close
to another, the gift card that pays a difference). An exploration that made no write, a write
the writers cannot word, or a situation that does not fit the family is a miss.

Offline (no ``explorer`` model configured) the blueprint samplers do this job alone.
"""

from __future__ import annotations

import asyncio
import json
import random
from pathlib import Path
from string import Template
from typing import Any

from taskforge.env.db import Database, Record, State
from taskforge.env.domains.retail.tools import REQUIRED_ORDER_STATUS, RetailTools
from taskforge.env.environment import Environment
from taskforge.env.toolkit import Toolkit
from taskforge.llm.client import LLMClient, LLMError
from taskforge.synthesis.blueprints import (
    FAMILY_PATTERNS,
    Blueprint,
    Request,
    assemble_blueprint,
    candidates,
    gold_feasible,
    near_misses,
    order_hint,
    split_options,
    with_changes,
)
from taskforge.synthesis.grounding import (
    Call,
    address_words,
    item_words,
    options_text,
    user_methods,
)

LLM_EXPLORER = "llm-explorer-v1"
"""Name of this explorer in the tasks' lineage."""
PROMPT_PATH = Path(__file__).resolve().parent / "prompts" / "explorer.md"
ADDRESS_KEYS = ("address1", "address2", "city", "state", "country", "zip")
SWAPS = ("exchange_delivered_order_items", "modify_pending_order_items")
GOALS: dict[str, str] = {
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


class LLMExplorer:
    """Blueprints from explorations by the ``explorer`` LLM role.

    Args:
        client: The explorer role's client (a model that calls tools).
        toolkit_cls: The domain's toolkit (default: Retail).
        max_steps: Most model turns per exploration.
        seed: Sampling seed of the calls.
        tries: Explorations per wanted blueprint before giving up.
    """

    name = LLM_EXPLORER

    def __init__(
        self,
        client: LLMClient,
        toolkit_cls: type[Toolkit] = RetailTools,
        max_steps: int = 30,
        seed: int = 0,
        tries: int = 4,
    ) -> None:
        self.client = client
        self.toolkit_cls = toolkit_cls
        self.max_steps = max_steps
        self.seed = seed
        self.tries = tries
        self.template = PROMPT_PATH.read_text(encoding="utf-8")
        self.explorations = 0
        self.misses: list[str] = []

    def blueprints(self, db: Database, family: str, n: int, seed: int) -> list[Blueprint]:
        """Up to ``n`` blueprints of ``family`` from explorations of random users.

        Args:
            db: The task DB (never modified: explorations run on fresh copies).
            family: A family with a goal in :data:`GOALS`.
            n: Blueprints wanted.
            seed: Seed of the choice of starting users.
        """
        rng = random.Random(f"{LLM_EXPLORER}:{family}:{seed}")
        users = sorted(db.tables["users"])
        found: list[Blueprint] = []
        used: set[str] = set()
        for _ in range(max(n, 0) * self.tries):
            if len(found) >= n:
                break
            bp = self.explore(db, family, db.tables["users"][rng.choice(users)], rng)
            if bp is not None and not used.intersection(bp.targets):
                used.update(bp.targets)
                found.append(bp)
        return found

    def explore(
        self, db: Database, family: str, user: Record, rng: random.Random
    ) -> Blueprint | None:
        """One exploration from ``user``; the blueprint of its writes, or None (a miss)."""
        self.explorations += 1
        try:
            writes = asyncio.run(self._run(db, family, user))
        except LLMError as exc:
            self.misses.append(f"{user['user_id']}: {exc}")
            return None
        bp = blueprint_from_writes(db, family, user, writes, rng)
        if bp is None or not gold_feasible(db, bp):
            self.misses.append(f"{user['user_id']}: {len(writes)} writes, no {family} blueprint")
            return None
        return bp

    async def _run(self, db: Database, family: str, user: Record) -> list[Call]:
        """The agent loop; returns the successful writes in order."""
        env = Environment(self.toolkit_cls, db)
        name = f"{user['name']['first_name']} {user['name']['last_name']}"
        prompt = Template(self.template).substitute(
            name=name, user_id=user["user_id"], goal=GOALS.get(family, family)
        )
        messages: list[dict[str, Any]] = [
            {"role": "system", "content": prompt},
            {"role": "user", "content": "Begin."},
        ]
        writes: list[Call] = []
        for _ in range(self.max_steps):
            completion = await self.client.complete(messages, env.tool_schemas(), seed=self.seed)
            raw = completion.message
            if not raw.tool_calls:
                break
            messages.append(_assistant(raw))
            for call in raw.tool_calls:
                result = env.step(call)
                messages.append(
                    {"role": "tool", "tool_call_id": call.id, "content": result.content or ""}
                )
                if env.is_write(call.name) and not result.error:
                    writes.append((call.name, dict(call.arguments)))
        return writes


def _assistant(message: Any) -> dict[str, Any]:
    """An assistant message with tool calls back in OpenAI's format."""
    calls = [
        {
            "id": c.id,
            "type": "function",
            "function": {"name": c.name, "arguments": json.dumps(c.arguments)},
        }
        for c in message.tool_calls or []
    ]
    return {"role": "assistant", "content": message.content, "tool_calls": calls}


# -- from writes to a blueprint ------------------------------------------------------------------


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
        bp.knobs.update(source=LLM_EXPLORER, n_writes=str(len(shaped)))
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


__all__ = ["GOALS", "LLM_EXPLORER", "LLMExplorer", "blueprint_from_writes", "requests_for_writes"]
