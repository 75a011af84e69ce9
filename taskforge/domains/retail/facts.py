"""Structured user facts for the scripted user, derived from a task's gold actions and its DB.

The scripted user (see :mod:`taskforge.domains.retail.scripted_user`) plays a task from these facts:
who the user is and what they want, one request per gold write action, in gold order. Facts
come from replaying the gold actions on a fresh state, so every request describes the records
as they are just before its write (items by product name and options, never by item id).

Three statements of a scenario change how the user words a request (they are how targeted
tasks put their difficulty into words, see :mod:`taskforge.synthesis.writer`):

* the unknown info says the user does not know their order ids (``order id``/``order number``):
  an order is referred to by a product that the scenario names and that singles it out among
  the user's orders the write could act on (``Request.order_hint``); by id when none does;
* the instructions say to describe the new variant ``only by what changes``: a swap's new
  variant is first stated by the options that differ from the item the user has
  (``ItemFact.stated_options``), the rest only when the agent asks;
* the reason for the call insists on a payment method for the price difference of a swap
  (``difference`` with ``instead of``/``rather than``/``not with``): the user names it in the
  request (``Request.payment_stated``);
* the instructions tell the user to make sure every one of several requests is handled: the
  user says up front how many things they have to sort out (``UserFacts.announced``).

This module also holds the wording both scripted sides share — options, addresses and payment
methods rendered in one parseable, natural-reading way (``color: red, size: M``;
``address1 "12 Elm Street", city "Portland"``; ``credit card ending in 1234``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import re
from dataclasses import dataclass, field
from typing import Any

from taskforge.contracts import Task
from taskforge.domains.retail.tools import (
    LOOSE_PENDING_TOOLS,
    REQUIRED_ORDER_STATUS,
    RetailTools,
)
from taskforge.env.db import Database, Record, State, copy_json
from taskforge.env.toolkit import ToolError

ADDRESS_FIELDS = ("address1", "address2", "city", "state", "country", "zip")
ITEM_KINDS = frozenset(
    {"return_delivered_order_items", "exchange_delivered_order_items", "modify_pending_order_items"}
)
SWAP_KINDS = frozenset({"exchange_delivered_order_items", "modify_pending_order_items"})
PAYMENT_KINDS = ITEM_KINDS | {"modify_pending_order_payment"}
WRITE_KINDS = ITEM_KINDS | {
    "cancel_pending_order",
    "modify_pending_order_address",
    "modify_pending_order_payment",
    "modify_user_address",
}
INFO_KIND = "info"
_ADDRESS_RE = re.compile(r'\b(address1|address2|city|state|country|zip) "([^"]*)"')


# -- shared wording -------------------------------------------------------------------------------


def format_options(options: dict[str, Any]) -> str:
    """Options as ``key: value, key: value`` (in the record's order)."""
    return ", ".join(f"{k}: {v}" for k, v in options.items())


def parse_options(text: str) -> dict[str, str]:
    """Inverse of :func:`format_options`; pieces without a colon are ignored."""
    out: dict[str, str] = {}
    for piece in text.split(", "):
        key, sep, value = piece.partition(": ")
        if sep:
            out[key.strip()] = value.strip()
    return out


def format_address(address: dict[str, Any]) -> str:
    """An address as ``address1 "...", address2 "...", city "...", ...``."""
    return ", ".join(f'{k} "{address.get(k, "")}"' for k in ADDRESS_FIELDS)


def parse_address(text: str) -> dict[str, str] | None:
    """The address written by :func:`format_address` inside ``text``, or None."""
    found = dict(_ADDRESS_RE.findall(text))
    return found if all(k in found for k in ADDRESS_FIELDS) else None


def describe_payment(method: Record, methods: list[Record]) -> str:
    """How a user names a payment method, e.g. 'credit card ending in 1234', 'paypal account'.

    Args:
        method: The payment method record.
        methods: All of the user's payment methods (gift cards get a number when several).
    """
    source = method.get("source", "")
    if source == "credit_card":
        return f"credit card ending in {method.get('last_four', '')}"
    if source == "paypal":
        return "paypal account"
    if source == "gift_card":
        cards = [m for m in methods if m.get("source") == "gift_card"]
        digits = re.sub(r"\D", "", str(method.get("id", "")))
        return f"gift card ending in {digits[-4:]}" if len(cards) > 1 else "gift card"
    return str(source).replace("_", " ")


def money(amount: float) -> str:
    """An amount as both sides write it: two decimals."""
    return f"{amount:.2f}"


# -- facts ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Identity:
    """The user's real identity data, from the DB."""

    user_id: str
    email: str
    first_name: str
    last_name: str
    zip: str


@dataclass(frozen=True)
class ItemFact:
    """One unit of an item the user talks about, described by product name and options."""

    product: str
    options: dict[str, str]
    product_id: str
    item_id: str
    target_options: dict[str, str] | None = None
    target_item_id: str | None = None
    stated_options: dict[str, str] | None = None
    """The new variant's options the user states at first (None: all of them)."""

    def describe(self) -> str:
        """``the Desk Fan (color: white, size: 12 inch)``."""
        return f"the {self.product} ({format_options(self.options)})"


@dataclass(frozen=True)
class PaymentFact:
    """A payment method as the user names it, with its id for matching."""

    description: str
    method_id: str


@dataclass
class Request:
    """One thing the user wants: a write (kind = the tool's name) or information (``info``)."""

    kind: str
    order_id: str | None = None
    items: list[ItemFact] = field(default_factory=list)
    payment: PaymentFact | None = None
    address: dict[str, str] | None = None
    reason: str | None = None
    topic: str | None = None
    expected: list[str] = field(default_factory=list)
    order_hint: str | None = None
    """A product name the user refers to the order by, when they do not know its id."""
    payment_stated: bool = False
    """Whether the user names the payment method in the request itself."""


@dataclass
class UserFacts:
    """Who the user is and what they want, in order."""

    task_id: str
    identity: Identity | None
    requests: list[Request]
    announced: bool = False
    """Whether the user says up front that they have several requests."""


def derive_facts(task: Task, db: Database | State) -> UserFacts:
    """Derive the scripted user's facts from a task's gold actions on ``db``.

    Args:
        task: The task; its gold actions say what the user wants.
        db: The task's base DB (or an episode state over it); it is never modified.

    Returns:
        The user's identity and one request per gold write (or one information request).
    """
    state = db.fresh() if isinstance(db, Database) else _copy_state(db)
    start = _copy_state(state)
    tools = RetailTools(state)
    requests: list[Request] = []
    user_ids: list[str] = []
    for action in task.gold_actions():
        args = dict(action.arguments)
        if action.name in WRITE_KINDS:
            request = _write_request(state, action.name, args)
            if request is not None:
                requests.append(request)
            user_ids.extend(_touched_users(state, action.name, args))
        elif action.name.startswith("find_user_id_by"):
            user_ids.extend(_found_user(tools, action.name, args))
        else:
            user_ids.extend(_touched_users(state, action.name, args))
        with contextlib.suppress(ToolError, TypeError, KeyError):
            tools.invoke(action.name, args)
    identity = _identity(start, user_ids, task)
    if not requests:
        requests.append(_info_request(state, task, identity))
    facts = UserFacts(task_id=task.id, identity=identity, requests=requests)
    _apply_scenario(task, start, facts)
    return facts


def _copy_state(state: State) -> State:
    copy = State(state.base)
    copy.overlay = copy_json(state.overlay)
    return copy


def _found_user(tools: RetailTools, name: str, args: dict[str, Any]) -> list[str]:
    try:
        return [str(tools.invoke(name, args))]
    except (ToolError, TypeError, KeyError):
        return []


def _touched_users(state: State, name: str, args: dict[str, Any]) -> list[str]:
    if "user_id" in args and state.get("users", str(args["user_id"])) is not None:
        return [str(args["user_id"])]
    order = state.get("orders", str(args.get("order_id", "")))
    return [str(order["user_id"])] if order is not None else []


def _identity(state: State, user_ids: list[str], task: Task) -> Identity | None:
    user_id = user_ids[0] if user_ids else _user_from_text(state, task)
    user = state.get("users", user_id) if user_id else None
    if user is None:
        return None
    return Identity(
        user_id=str(user["user_id"]),
        email=str(user["email"]),
        first_name=str(user["name"]["first_name"]),
        last_name=str(user["name"]["last_name"]),
        zip=str(user["address"]["zip"]),
    )


def _user_from_text(state: State, task: Task) -> str | None:
    """A user named in the instructions: by user id, email, or full name with zip."""
    text = str(task.user_scenario.instructions)
    by_name = None
    for user_id, user in state.items("users"):
        if user_id in text or user["email"] in text:
            return user_id
        name = f"{user['name']['first_name']} {user['name']['last_name']}"
        if by_name is None and name in text and user["address"]["zip"] in text:
            by_name = user_id
    return by_name


def _methods(state: State, user_id: str) -> list[Record]:
    user = state.get("users", user_id)
    return list(user["payment_methods"].values()) if user else []


def _payment(state: State, user_id: str, method_id: str) -> PaymentFact | None:
    methods = _methods(state, user_id)
    method = next((m for m in methods if m.get("id") == method_id), None)
    if method is None:
        return None
    return PaymentFact(describe_payment(method, methods), method_id)


def _write_request(state: State, kind: str, args: dict[str, Any]) -> Request | None:
    """The request behind one gold write, described on the state just before it."""
    if kind == "modify_user_address":
        return Request(kind=kind, address={k: str(args.get(k, "")) for k in ADDRESS_FIELDS})
    order = state.get("orders", str(args.get("order_id", "")))
    if order is None:
        return None
    request = Request(kind=kind, order_id=str(order["order_id"]))
    if kind == "cancel_pending_order":
        request.reason = str(args.get("reason", ""))
    elif kind == "modify_pending_order_address":
        request.address = {k: str(args.get(k, "")) for k in ADDRESS_FIELDS}
    if "payment_method_id" in args:
        request.payment = _payment(state, order["user_id"], str(args["payment_method_id"]))
    if kind in ITEM_KINDS:
        request.items = _item_facts(state, order, args)
    return request


def _item_facts(state: State, order: Record, args: dict[str, Any]) -> list[ItemFact]:
    new_ids = list(args.get("new_item_ids") or [])
    facts = []
    for index, item_id in enumerate(args.get("item_ids") or []):
        item = next((i for i in order["items"] if i["item_id"] == item_id), None)
        if item is None:
            continue
        target_id = new_ids[index] if index < len(new_ids) else None
        target = _variant_options(state, item["product_id"], target_id)
        facts.append(
            ItemFact(
                product=str(item["name"]),
                options=dict(item["options"]),
                product_id=str(item["product_id"]),
                item_id=str(item_id),
                target_options=target,
                target_item_id=target_id,
            )
        )
    return facts


def _variant_options(state: State, product_id: str, item_id: str | None) -> dict[str, str] | None:
    if item_id is None:
        return None
    product = state.get("products", product_id)
    variant = product["variants"].get(item_id) if product else None
    return dict(variant["options"]) if variant else None


def _info_request(state: State, task: Task, identity: Identity | None) -> Request:
    """What to ask when the task has no writes: an order total, a gift card balance, or a
    summary of the user's orders."""
    criteria = task.evaluation_criteria
    expected = list((criteria.communicate_info if criteria else None) or [])
    request = Request(kind=INFO_KIND, topic="orders", expected=expected)
    if identity is None:
        return request
    user = state.get("users", identity.user_id) or {}
    for value in expected:
        for method in user.get("payment_methods", {}).values():
            if method.get("source") == "gift_card" and _same_amount(method.get("balance"), value):
                request.topic = "gift_card_balance"
                return request
        for order_id in user.get("orders", []):
            order = state.get("orders", order_id) or {}
            if _same_amount(order_total(order), value):
                request.topic, request.order_id = "order_total", order_id
                return request
    return request


def order_total(order: Record) -> float:
    """What the user paid for an order: payments minus refunds."""
    total = 0.0
    for payment in order.get("payment_history", []):
        sign = -1 if payment.get("transaction_type") == "refund" else 1
        total += sign * float(payment.get("amount", 0))
    return round(total, 2)


def _same_amount(amount: Any, text: str) -> bool:
    try:
        return amount is not None and abs(float(amount) - float(text)) < 0.005
    except ValueError:
        return False


# -- what the scenario withholds ------------------------------------------------------------------

_NO_ORDER_IDS = re.compile(r"order (ids?|numbers?)\b", re.IGNORECASE)
_ONLY_CHANGES = re.compile(r"only by what changes", re.IGNORECASE)
_EVERY_REQUEST = re.compile(r"every one of your requests", re.IGNORECASE)
_INSIST = re.compile(r"\b(instead of|rather than|not with)\b", re.IGNORECASE)


def _scenario_parts(task: Task) -> tuple[str, str, str]:
    """(reason for call, unknown info, every text field) of the task's scenario."""
    from taskforge.rollout.prompts import scenario_text

    instructions = task.user_scenario.instructions
    if isinstance(instructions, str):
        return instructions, "", instructions
    return instructions.reason_for_call, instructions.unknown_info or "", scenario_text(task)


def _apply_scenario(task: Task, state: State, facts: UserFacts) -> None:
    """Word the requests the way the scenario says (see the module docstring)."""
    reason, unknown, text = _scenario_parts(task)
    no_ids = bool(_NO_ORDER_IDS.search(unknown))
    vague = bool(_ONLY_CHANGES.search(text))
    insist = "difference" in reason.lower() and bool(_INSIST.search(reason))
    facts.announced = len(facts.requests) > 1 and bool(_EVERY_REQUEST.search(text))
    for request in facts.requests:
        if no_ids and request.order_id is not None:
            request.order_hint = _order_hint(state, request, text)
        if vague and request.kind in SWAP_KINDS:
            request.items = [_vague(item) for item in request.items]
        if insist and request.kind in SWAP_KINDS and request.payment is not None:
            request.payment_stated = True


def _vague(item: ItemFact) -> ItemFact:
    if not item.target_options:
        return item
    changed = {k: v for k, v in item.target_options.items() if item.options.get(k) != v}
    if not changed or changed == item.target_options:
        return item
    return dataclasses.replace(item, stated_options=changed)


def _squash(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


def _order_hint(state: State, request: Request, text: str) -> str | None:
    """A product named in ``text`` that only this order (of its candidates) contains."""
    order = state.get("orders", str(request.order_id))
    user = state.get("users", str(order["user_id"])) if order else None
    wanted = REQUIRED_ORDER_STATUS.get(request.kind)
    if order is None or user is None or wanted is None:
        return None

    def fits(status: str) -> bool:
        return wanted in status if request.kind in LOOSE_PENDING_TOOLS else status == wanted

    others = [
        state.get("orders", oid) or {}
        for oid in user["orders"]
        if oid != order["order_id"] and fits(str((state.get("orders", oid) or {}).get("status")))
    ]
    elsewhere = {_squash(i["name"]) for o in others for i in o.get("items", [])}
    squashed = _squash(text)
    names = sorted({str(i["name"]) for i in order["items"]}, key=len, reverse=True)
    return next((n for n in names if _squash(n) in squashed and _squash(n) not in elsewhere), None)
