"""A scripted Retail policy: a competent rule-based agent with named, seeded error modes.

It is an honest, named simulation, not a model. It works only from what an agent sees — the
user's words, the tool outputs, the tool list — never from a task's gold actions. It keeps no
hidden state: every decision is recomputed from the messages (OpenAI format, agent view), and
every random draw comes from ``random.Random`` seeded with the policy's seed, the error mode and
the length of the conversation, so a resumed conversation gets the same answers.

Flow: identify the user (email, else name + zip) -> get_user_details -> get_order_details of every
order of the user -> parse the request (see :mod:`taskforge.domains.retail.scripted_user` for the
protocol) -> match items by product name + options, get_product_details, find the variant whose
options match -> list the details and ask ``(yes/no)`` -> on ``yes`` call the write tool -> report
the result and ask whether there is anything else. Information requests (an order total, a gift card
balance, the orders' status) are answered from the tool outputs.

Error modes (:data:`ERROR_MODES`), each firing with its probability per opportunity:

* ``wrong_variant``: a swap gets another available variant of the same product;
* ``wrong_item``: the write acts on another item of the order;
* ``wrong_order``: when other orders of the user match (contain the product, or are in the
  right status), the write acts on one of them;
* ``skip_confirmation``: the write is made without asking, with the default payment method;
* ``early_stop``: the agent reports the request done without making the write;
* ``repeat_call``: a read is repeated identically, without progress, until the agent gives up
  and transfers the user.

Difficulty raises the rate of the mistake it provokes. At a *hard* opportunity, one where the
agent has to resolve something the user left open, a mode fires with its hard rate
(:data:`DEFAULT_HARD_RATES`, never below the mode's ordinary rate; a mode switched off stays
off), and the mistake lands on the confusable record:

* ``wrong_order``: the user described the order by a product it contains instead of its id;
  the write goes to another of the user's orders the write could act on (one sharing a
  product with the right one when there is such an order);
* ``wrong_variant``: the user stated only part of the new variant's options and several
  available variants match; the swap gets another matching variant (the careful agent asks
  which one is meant, :data:`CLARIFY_MARK`);
* ``early_stop``: a later request of several that the user announced up front (the agent
  already finished one);
* ``skip_confirmation``: the user named a payment method for a swap's price difference that
  is not the order's own; the unconfirmed write charges the order's original method.

Naive tasks (an order named by id, every option stated, one request) have no hard
opportunity, so their failure rates do not depend on the weight.

Fired modes are appended to :attr:`ScriptedPolicy.fired` and returned on the assistant message
under :data:`ERROR_MODES_KEY` (the orchestrator collects and strips that key).
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from dataclasses import dataclass, field
from typing import Any

from taskforge.domains.retail.facts import (
    INFO_KIND,
    ITEM_KINDS,
    SWAP_KINDS,
    describe_payment,
    format_address,
    format_options,
    money,
    order_total,
    parse_address,
    parse_options,
)
from taskforge.domains.retail.scripted_user import (
    ANNOUNCE_MARK,
    CLARIFY_MARK,
    CONFIRM_MARK,
    DONE_PHRASE,
)
from taskforge.domains.retail.tools import LOOSE_PENDING_TOOLS, REQUIRED_ORDER_STATUS
from taskforge.rollout.signals import ERROR_MODES_KEY

ERROR_MODES = (
    "wrong_variant",
    "wrong_item",
    "wrong_order",
    "skip_confirmation",
    "early_stop",
    "repeat_call",
)
DEFAULT_ERROR_RATES: dict[str, float] = {
    "wrong_variant": 0.2,
    "wrong_item": 0.12,
    "wrong_order": 0.2,
    "skip_confirmation": 0.25,
    "early_stop": 0.1,
    "repeat_call": 0.04,
}
"""Rates per opportunity, tuned on 4 trials: pass^1 0.55 on tau2 Retail (feasible tasks), 0.68 on
the 64 shipped seed tasks (one write each, so fewer opportunities); pass^4 0.21 and 0.27."""
DEFAULT_HARD_RATES: dict[str, float] = {
    "wrong_order": 0.7,
    "wrong_variant": 0.7,
    "early_stop": 0.7,
    "skip_confirmation": 0.7,
}
"""Rates at hard opportunities (see the module docstring): the provoked mistake is made 7 times
in 10. Modes without a hard opportunity are not listed. With rates equal to the ordinary ones
(a policy that ignores difficulty), targeted tasks still fail more often, but only because they
offer more opportunities (see ``taskforge.synthesis.targeting``)."""
REPEAT_TIMES = 4
"""How many identical calls a ``repeat_call`` loop makes before the agent gives up."""

ASK_IDENTITY = (
    "Before I can help, I need to verify your identity. Could you please give me your email "
    "address, or your first and last name and zip code?"
)
ASK_AGAIN = (
    "I couldn't find an account with that. Could you give me your email address, or your first "
    "and last name and zip code?"
)
ASK_REQUEST = "Thank you, I've verified your account. What can I help you with today?"
READS = frozenset(
    {"get_user_details", "get_order_details", "get_product_details", "get_item_details"}
)
WRITES = ITEM_KINDS | {
    "cancel_pending_order",
    "modify_pending_order_address",
    "modify_pending_order_payment",
    "modify_user_address",
}
_ORDER_RE = re.compile(r"#W\d+")
_EMAIL_RE = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_NAME_ZIP_RE = re.compile(r"my name is (\S+) (\S+?) and my zip code is (\d+)", re.IGNORECASE)
_ITEM_RE = re.compile(r"the ([^()]+?) \(([^()]*)\)")
_SWAP_RE = re.compile(r"the ([^()]+?) \(([^()]*)\) for the variant with \(([^()]*)\)")
_USE_RE = re.compile(r"please use my (.+?) instead", re.IGNORECASE)
_DIFFERENCE_RE = re.compile(r"pay the difference with my (.+?)\.", re.IGNORECASE)
_HINT_RE = re.compile(r"order with the (.+?) in it")
_CHOICE_RE = re.compile(r"For the (.+?), I want the one with \(([^()]*)\)")


def _status_ok(kind: str, order: dict[str, Any]) -> bool:
    """Whether the order's status allows the write (address and payment: any pending)."""
    status, wanted = str(order.get("status", "")), REQUIRED_ORDER_STATUS.get(kind)
    if wanted is None:
        return False
    return wanted in status if kind in LOOSE_PENDING_TOOLS else status == wanted


# -- reading the conversation ------------------------------------------------------------------


@dataclass
class _Call:
    """One tool call and its output."""

    id: str
    name: str
    args: dict[str, Any]
    output: str | None = None

    @property
    def ok(self) -> bool:
        return self.output is not None and not self.output.startswith("Error")

    def data(self) -> Any:
        """The output parsed as JSON, or None."""
        try:
            return json.loads(self.output or "")
        except json.JSONDecodeError:
            return None


@dataclass
class _Conversation:
    """What the agent knows, recomputed from the messages."""

    messages: list[dict[str, Any]]
    calls: list[_Call] = field(default_factory=list)
    texts: list[tuple[int, str, str]] = field(default_factory=list)
    tail: list[_Call] = field(default_factory=list)
    user_id: str | None = None
    user: dict[str, Any] | None = None
    orders: dict[str, dict[str, Any]] = field(default_factory=dict)
    products: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def parse(cls, messages: list[dict[str, Any]]) -> _Conversation:
        conv = cls(messages)
        by_id: dict[str, _Call] = {}
        for pos, message in enumerate(messages):
            conv._read(pos, message, by_id)
        for call in conv.calls:
            conv._learn(call)
        return conv

    def _read(self, pos: int, message: dict[str, Any], by_id: dict[str, _Call]) -> None:
        role = message.get("role")
        if role == "tool":
            call = by_id.get(str(message.get("tool_call_id", "")))
            if call is not None:
                call.output = str(message.get("content") or "")
        elif role == "assistant" and message.get("tool_calls"):
            for raw in message["tool_calls"]:
                call = _Call(raw.get("id", ""), raw["function"]["name"], _args(raw))
                by_id[call.id] = call
                self.calls.append(call)
                self.tail.append(call)
        elif role in ("user", "assistant") and message.get("content"):
            self.texts.append((pos, str(role), str(message["content"])))
            self.tail = []

    def _learn(self, call: _Call) -> None:
        if not call.ok:
            return
        data = call.data()
        if call.name.startswith("find_user_id"):
            self.user_id = call.output
        elif isinstance(data, dict) and "payment_methods" in data:
            self.user = data
        elif isinstance(data, dict) and "order_id" in data:
            self.orders[str(data["order_id"])] = data
        elif isinstance(data, dict) and call.name == "get_product_details":
            self.products[str(data.get("product_id", call.args.get("product_id")))] = data

    def last_text(self, role: str, before: int | None = None) -> tuple[int, str] | None:
        """Position and content of the last text message of ``role`` (before ``before``)."""
        for pos, who, text in reversed(self.texts):
            if who == role and (before is None or pos < before):
                return pos, text
        return None

    def user_texts(self, after: int = -1) -> list[str]:
        """The user's texts after position ``after``."""
        return [text for pos, who, text in self.texts if who == "user" and pos > after]

    def current_request(self) -> tuple[int, str, str] | None:
        """Position, kind and text of the user's latest request."""
        for pos, who, text in reversed(self.texts):
            if who == "user":
                kind = classify(text)
                if kind is not None:
                    return pos, kind, text
        return None

    def methods(self) -> list[dict[str, Any]]:
        """The user's payment methods."""
        return list((self.user or {}).get("payment_methods", {}).values())


def _args(raw: dict[str, Any]) -> dict[str, Any]:
    try:
        value = json.loads(raw["function"].get("arguments") or "{}")
    except json.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}


def classify(text: str) -> str | None:
    """The kind of request a user message makes (a write tool's name or ``info``), or None."""
    t = re.sub(r'"[^"]*"', '""', text).lower()
    has_order = "#w" in t or "order with the" in t
    checks = (
        ("cancel" in t and has_order, "cancel_pending_order"),
        ("shipping address" in t, "modify_pending_order_address"),
        ("default address" in t, "modify_user_address"),
        ("payment method of" in t, "modify_pending_order_payment"),
        ("exchange" in t and "for the variant with" in t, "exchange_delivered_order_items"),
        ("for the variant with" in t, "modify_pending_order_items"),
        ("return" in t and has_order, "return_delivered_order_items"),
        (
            any(k in t for k in ("how much did i pay", "balance of my gift card", "my orders")),
            INFO_KIND,
        ),
    )
    return next((kind for hit, kind in checks if hit), None)


# -- plans --------------------------------------------------------------------------------------


@dataclass
class _Plan:
    """A write the agent is about to make, with what it needs to describe and perturb it."""

    name: str
    args: dict[str, Any]
    details: str
    payment_phrase: str = ""
    items: list[dict[str, Any]] = field(default_factory=list)
    done: str = ""
    hard: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    """Modes at a hard opportunity, each with the confusable arguments it would write."""


class ScriptedPolicy:
    """Rule-based Retail agent with seeded error modes.

    Args:
        error_rates: Probability per opportunity of each mode in :data:`ERROR_MODES`
            (missing modes never fire).
        seed: Seed of the draws.
        hard_rates: Probability at a hard opportunity (default :data:`DEFAULT_HARD_RATES`);
            applies only to modes whose ``error_rates`` entry is above 0.
    """

    def __init__(
        self,
        error_rates: dict[str, float] | None = None,
        seed: int = 0,
        hard_rates: dict[str, float] | None = None,
    ) -> None:
        unknown = (set(error_rates or {}) | set(hard_rates or {})) - set(ERROR_MODES)
        if unknown:
            raise ValueError(f"unknown error modes: {sorted(unknown)}")
        self.error_rates = dict(DEFAULT_ERROR_RATES if error_rates is None else error_rates)
        self.hard_rates = dict(DEFAULT_HARD_RATES if hard_rates is None else hard_rates)
        self.seed = seed
        self.fired: list[str] = []
        self._now: list[str] = []
        self._size = 0
        self._key = ""

    def respond(
        self, messages: list[dict[str, Any]], tools: list[dict[str, Any]]
    ) -> dict[str, Any]:
        """The next assistant message: text, or exactly one tool call.

        Args:
            messages: The conversation in OpenAI format (agent view).
            tools: The tool schemas offered (unused beyond their names being the Retail ones).
        """
        conv = _Conversation.parse(messages)
        first = conv.user_texts()[:1]
        self._now, self._size = [], len(messages)
        self._key = hashlib.blake2b((first[0] if first else "").encode(), digest_size=8).hexdigest()
        reply = (
            self._after_tool(conv) or self._identify(conv) or self._load(conv) or self._serve(conv)
        )
        if self._now:
            self.fired.extend(self._now)
            reply[ERROR_MODES_KEY] = list(self._now)
        return reply

    # -- randomness ----------------------------------------------------------------------------

    def _fires(self, mode: str, hard: bool = False) -> bool:
        rate = self.error_rates.get(mode, 0.0)
        if hard and rate > 0:
            rate = max(rate, self.hard_rates.get(mode, 0.0))
        if rate <= 0:
            return False
        if random.Random(f"{self.seed}:{mode}:{self._size}:{self._key}").random() < rate:
            self._now.append(mode)
            return True
        return False

    def _rng(self, mode: str) -> random.Random:
        return random.Random(f"{self.seed}:{mode}:{self._size}:{self._key}:choice")

    # -- steps ---------------------------------------------------------------------------------

    def _after_tool(self, conv: _Conversation) -> dict[str, Any] | None:
        """Answer to a tool output that just arrived: reports, repeats, transfers."""
        if not conv.messages or conv.messages[-1].get("role") != "tool" or not conv.tail:
            return None
        last = conv.tail[-1]
        run = _identical_run(conv.tail)
        if run >= 2:
            if run < REPEAT_TIMES:
                return _call(last.name, last.args, self._size)
            summary = "The agent could not retrieve the information needed for the request."
            return _call("transfer_to_human_agents", {"summary": summary}, self._size)
        if last.name == "transfer_to_human_agents":
            return _say("I'm sorry for the trouble. I'm transferring you to a human agent now.")
        if last.name in WRITES:
            return _say(_report(last, conv))
        if last.name in READS and self._fires("repeat_call"):
            return _call(last.name, last.args, self._size)
        return None

    def _identify(self, conv: _Conversation) -> dict[str, Any] | None:
        """Find the user id from what the user said, or ask for it."""
        if conv.user_id is not None:
            return None
        tried = {
            json.dumps(c.args, sort_keys=True) for c in conv.calls if c.name.startswith("find")
        }
        for text in reversed(conv.user_texts()):
            for name, args in _identity_lookups(text):
                if json.dumps(args, sort_keys=True) not in tried:
                    return _call(name, args, self._size)
        if any(c.name.startswith("find_user_id") for c in conv.calls):
            return _say(ASK_AGAIN)
        return _say(ASK_IDENTITY)

    def _load(self, conv: _Conversation) -> dict[str, Any] | None:
        """Read the user's profile and every order of theirs."""
        if conv.user is None:
            return _call("get_user_details", {"user_id": conv.user_id}, self._size)
        for order_id in conv.user.get("orders", []):
            if order_id not in conv.orders:
                return _call("get_order_details", {"order_id": order_id}, self._size)
        return None

    def _serve(self, conv: _Conversation) -> dict[str, Any]:
        """Work on the user's latest request."""
        current = conv.current_request()
        if current is None:
            return _say(ASK_REQUEST)
        pos, kind, text = current
        later = [t for p, who, t in conv.texts if who == "assistant" and p > pos]
        if any(DONE_PHRASE in t for t in later):
            return _say("Sure. Let me know if there is something else.")
        if kind == INFO_KIND:
            return _say(_answer_info(text, conv))
        planned = _plan(kind, text, pos, conv)
        if not isinstance(planned, _Plan):
            return planned
        return self._decide(planned, conv, pos)

    def _decide(self, plan: _Plan, conv: _Conversation, pos: int) -> dict[str, Any]:
        """Ask for confirmation, or act on a confirmed (or, by error, unconfirmed) plan."""
        user = conv.last_text("user")
        asked = conv.last_text("assistant")
        confirmed = (
            user is not None
            and asked is not None
            and pos < asked[0] < user[0]
            and CONFIRM_MARK in asked[1]
            and user[1].strip().lower().startswith("yes")
        )
        skip_hard = "skip_confirmation" in plan.hard
        skipped = not confirmed and self._fires("skip_confirmation", skip_hard)
        if not confirmed and not skipped:
            text = f"Here are the details: {plan.details}.{plan.payment_phrase}"
            return _say(f"{text} Do you confirm {CONFIRM_MARK}?")
        if self._fires("early_stop", _later_of_several(conv, pos)):
            return _say(f"Your request has been submitted successfully. {DONE_PHRASE}")
        if skipped and skip_hard:
            return _call(plan.name, plan.hard["skip_confirmation"][0], self._size)
        return _call(plan.name, self._perturb(plan, conv), self._size)

    # -- error modes on a write ------------------------------------------------------------------

    def _perturb(self, plan: _Plan, conv: _Conversation) -> dict[str, Any]:
        args = dict(plan.args)
        for mode, make in (
            ("wrong_order", _wrong_order),
            ("wrong_item", _wrong_item),
            ("wrong_variant", _wrong_variant),
        ):
            hard = bool(plan.hard.get(mode))
            options = plan.hard[mode] if hard else make(plan, conv)
            if options and self._fires(mode, hard):
                return self._rng(mode).choice(options)
        return args


def _later_of_several(conv: _Conversation, pos: int) -> bool:
    """A request after the first, in a conversation whose user announced several."""
    announced = any(ANNOUNCE_MARK in text for text in conv.user_texts())
    return announced and any(
        who == "assistant" and p < pos and DONE_PHRASE in t for p, who, t in conv.texts
    )


# -- replies -----------------------------------------------------------------------------------


def _say(text: str) -> dict[str, Any]:
    return {"role": "assistant", "content": text}


def _call(name: str, args: dict[str, Any], size: int) -> dict[str, Any]:
    return {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": f"call_{size}_{name}",
                "type": "function",
                "function": {"name": name, "arguments": json.dumps(args)},
            }
        ],
    }


def _identical_run(tail: list[_Call]) -> int:
    if not tail:
        return 0
    last = tail[-1]
    run = 0
    for call in reversed(tail):
        if call.name != last.name or call.args != last.args:
            break
        run += 1
    return run


def _identity_lookups(text: str) -> list[tuple[str, dict[str, Any]]]:
    out: list[tuple[str, dict[str, Any]]] = []
    for email in _EMAIL_RE.findall(text):
        out.append(("find_user_id_by_email", {"email": email}))
    for first, last, zip_code in _NAME_ZIP_RE.findall(text):
        args = {"first_name": first, "last_name": last, "zip": zip_code}
        out.append(("find_user_id_by_name_zip", args))
    return out


def _report(call: _Call, conv: _Conversation) -> str:
    """What the agent says after a write."""
    if not call.ok:
        return f"I'm sorry, that didn't work: {call.output}. {DONE_PHRASE}"
    data = call.data() or {}
    what = {
        "cancel_pending_order": "the order has been cancelled",
        "return_delivered_order_items": "the return has been requested; you will receive an "
        "email with instructions on how to return the items",
        "exchange_delivered_order_items": "the exchange has been requested",
        "modify_pending_order_items": "the items of the order have been modified",
        "modify_pending_order_address": "the shipping address of the order has been updated",
        "modify_pending_order_payment": "the payment method of the order has been updated",
        "modify_user_address": "your default address has been updated",
    }.get(call.name, "the request has been processed")
    extra = ""
    if call.name == "exchange_delivered_order_items" and isinstance(data, dict):
        extra = f" The price difference is ${money(data.get('exchange_price_difference') or 0)}."
    if call.name == "cancel_pending_order" and isinstance(data, dict):
        paid = sum(
            p["amount"]
            for p in data.get("payment_history", [])
            if p.get("transaction_type") == "refund"
        )
        extra = f" A refund of ${money(paid)} is on its way."
    oid = call.args.get("order_id")
    where = f" for order {oid}" if oid else ""
    return f"Done{where}: {what}.{extra} {DONE_PHRASE}"


def _answer_info(text: str, conv: _Conversation) -> str:
    lowered = text.lower()
    match = _ORDER_RE.search(text)
    if "how much did i pay" in lowered and match and match.group(0) in conv.orders:
        total = order_total(conv.orders[match.group(0)])
        return f"You paid ${money(total)} in total for order {match.group(0)}. {DONE_PHRASE}"
    if "gift card" in lowered:
        cards = [m for m in conv.methods() if m.get("source") == "gift_card"]
        if not cards:
            return f"You don't have a gift card on your account. {DONE_PHRASE}"
        parts = [
            f"your {describe_payment(c, conv.methods())} has a balance of "
            f"${money(c.get('balance', 0))}"
            for c in cards
        ]
        return f"{'; '.join(parts).capitalize()}. {DONE_PHRASE}"
    lines = [
        f"{oid}: {o.get('status')}, total paid ${money(order_total(o))}"
        for oid, o in conv.orders.items()
    ]
    return f"Here are your orders: {'; '.join(lines) or 'none'}. {DONE_PHRASE}"


# -- planning each kind of write -----------------------------------------------------------------


def _plan(kind: str, text: str, pos: int, conv: _Conversation) -> _Plan | dict[str, Any]:
    """A plan for the request, a read call it still needs, or a reply when it cannot be done."""
    if kind == "modify_user_address":
        return _plan_user_address(text, conv)
    order, by_hint = _requested_order(kind, text, conv)
    if order is None:
        return _say(
            "I'm sorry, I couldn't find that order on your account. Could you check the order id?"
        )
    if not _status_ok(kind, order):
        status = REQUIRED_ORDER_STATUS.get(kind, "")
        return _say(
            f"I'm sorry, order {order['order_id']} is {order.get('status')}, not "
            f"{status}, so I can't do that. {DONE_PHRASE}"
        )
    planned = _plan_for_order(kind, text, pos, order, conv)
    if isinstance(planned, _Plan) and by_hint:
        confusable = _confusable_orders(planned, conv)
        if confusable:
            planned.hard["wrong_order"] = confusable
    return planned


def _plan_for_order(
    kind: str, text: str, pos: int, order: dict[str, Any], conv: _Conversation
) -> _Plan | dict[str, Any]:
    if kind == "cancel_pending_order":
        return _plan_cancel(text, order)
    if kind == "modify_pending_order_address":
        return _plan_order_address(text, order)
    if kind == "modify_pending_order_payment":
        return _plan_payment(text, order, conv)
    return _plan_items(kind, text, pos, order, conv)


def _requested_order(
    kind: str, text: str, conv: _Conversation
) -> tuple[dict[str, Any] | None, bool]:
    """The order the request names by id, or describes by a product (and whether it did)."""
    match = _ORDER_RE.search(text)
    if match:
        return conv.orders.get(match.group(0)), False
    hint = _HINT_RE.search(text)
    if hint is None:
        return None, False
    name = hint.group(1).strip().lower()
    found = [
        o
        for o in conv.orders.values()
        if _status_ok(kind, o) and any(i["name"].lower() == name for i in o.get("items", []))
    ]
    return (found[0], True) if len(found) == 1 else (None, True)


def _confusable_orders(plan: _Plan, conv: _Conversation) -> list[dict[str, Any]]:
    """The write on the user's other candidate orders, those sharing a product first."""
    options = _wrong_order(plan, conv)
    names = {
        i["name"] for i in conv.orders.get(str(plan.args.get("order_id")), {}).get("items", [])
    }
    sharing = [
        o
        for o in options
        if names & {i["name"] for i in conv.orders[str(o["order_id"])].get("items", [])}
    ]
    return sharing or options


def _plan_cancel(text: str, order: dict[str, Any]) -> _Plan:
    reason = "ordered by mistake" if "mistake" in text.lower() else "no longer needed"
    oid = order["order_id"]
    return _Plan(
        "cancel_pending_order",
        {"order_id": oid, "reason": reason},
        f"cancel order {oid} (reason: {reason}); the refund goes back to the original payment",
    )


def _plan_order_address(text: str, order: dict[str, Any]) -> _Plan | dict[str, Any]:
    address = parse_address(text)
    if address is None:
        return _say("Could you give me the full new address, please?")
    oid = order["order_id"]
    return _Plan(
        "modify_pending_order_address",
        {"order_id": oid, **address},
        f"change the shipping address of order {oid} to {format_address(address)}",
    )


def _plan_user_address(text: str, conv: _Conversation) -> _Plan | dict[str, Any]:
    address = parse_address(text)
    if address is None:
        return _say("Could you give me the full new address, please?")
    return _Plan(
        "modify_user_address",
        {"user_id": conv.user_id, **address},
        f"update your default address to {format_address(address)}",
    )


def _plan_payment(text: str, order: dict[str, Any], conv: _Conversation) -> _Plan | dict[str, Any]:
    method = _named_method(text, conv)
    if method is None:
        return _say("Which of your payment methods would you like to use?")
    oid = order["order_id"]
    return _Plan(
        "modify_pending_order_payment",
        {"order_id": oid, "payment_method_id": method["id"]},
        f"pay for order {oid} with your {describe_payment(method, conv.methods())}",
    )


def _named_method(text: str, conv: _Conversation) -> dict[str, Any] | None:
    """The payment method the text names (longest description first)."""
    named = sorted(
        ((describe_payment(m, conv.methods()), m) for m in conv.methods()),
        key=lambda pair: -len(pair[0]),
    )
    lowered = text.lower()
    return next((m for desc, m in named if desc.lower() in lowered), None)


def _plan_items(
    kind: str, text: str, pos: int, order: dict[str, Any], conv: _Conversation
) -> _Plan | dict[str, Any]:
    wanted = _wanted_items(kind, text)
    matched = _match_items(wanted, order)
    if matched is None or not matched:
        return _say(
            "I'm sorry, I couldn't find those items in the order. Could you describe "
            "them again with their options?"
        )
    targets: list[tuple[dict[str, Any], list[str]]] = []
    if kind in SWAP_KINDS:
        found = _targets(wanted, matched, pos, conv)
        if not isinstance(found, list):
            return found
        targets = found
    method, named = _payment_choice(order, text, pos, conv)
    plan = _items_plan(kind, order, matched, [v for v, _ in targets], method, conv)
    _mark_hard(plan, order, targets, named)
    return plan


def _mark_hard(
    plan: _Plan,
    order: dict[str, Any],
    targets: list[tuple[dict[str, Any], list[str]]],
    named: bool,
) -> None:
    """Hard opportunities of a swap: a variant stated in part, a payment named up front."""
    for index, (_, others) in enumerate(targets):
        for other in others:
            new_ids = list(plan.args["new_item_ids"])
            new_ids[index] = other
            plan.hard.setdefault("wrong_variant", []).append({**plan.args, "new_item_ids": new_ids})
    original = order["payment_history"][0]["payment_method_id"]
    if named and plan.args["payment_method_id"] != original:
        plan.hard["skip_confirmation"] = [{**plan.args, "payment_method_id": original}]


def _wanted_items(kind: str, text: str) -> list[tuple[str, dict[str, str], dict[str, str]]]:
    if kind in SWAP_KINDS:
        return [
            (name.strip(), parse_options(old), parse_options(new))
            for name, old, new in _SWAP_RE.findall(text)
        ]
    return [(name.strip(), parse_options(opts), {}) for name, opts in _ITEM_RE.findall(text)]


def _match_items(
    wanted: list[tuple[str, dict[str, str], dict[str, str]]], order: dict[str, Any]
) -> list[dict[str, Any]] | None:
    """The order's items (one per wanted unit) with the wanted name and options."""
    left = list(order.get("items", []))
    out = []
    for name, options, _ in wanted:
        item = next((i for i in left if i["name"] == name and i["options"] == options), None)
        if item is None:
            return None
        left.remove(item)
        out.append(item)
    return out


def _targets(
    wanted: list[tuple[str, dict[str, str], dict[str, str]]],
    matched: list[dict[str, Any]],
    pos: int,
    conv: _Conversation,
) -> list[tuple[dict[str, Any], list[str]]] | dict[str, Any]:
    """Per swap, the new variant and the other variants its description also fits (when the
    user stated only part of the options); or the product read still needed, or a reply."""
    out = []
    for (_, _, target), item in zip(wanted, matched, strict=True):
        product = conv.products.get(item["product_id"])
        if product is None:
            return _call(
                "get_product_details", {"product_id": item["product_id"]}, len(conv.messages)
            )
        found = _variant(product, item, target, pos, conv)
        if not isinstance(found, tuple):
            return found
        out.append(found)
    return out


def _variant(
    product: dict[str, Any],
    item: dict[str, Any],
    target: dict[str, str],
    pos: int,
    conv: _Conversation,
) -> tuple[dict[str, Any], list[str]] | dict[str, Any]:
    """The variant a (possibly partial) description means, and the others it fits."""
    variants = [v for v in product["variants"].values() if v["available"]]
    exact = next((v for v in variants if v["options"] == target), None)
    if exact is not None:
        return exact, []
    fits = [
        v
        for v in variants
        if v["item_id"] != item["item_id"]
        and all(v["options"].get(k) == value for k, value in target.items())
    ]
    if not fits:
        return _say(
            f"I'm sorry, the {item['name']} with {format_options(target)} is not "
            f"available. {DONE_PHRASE}"
        )
    chosen = _chosen_variant(item["name"], fits, pos, conv)
    if chosen is None and len(fits) > 1:
        listed = "; ".join(f"({format_options(v['options'])})" for v in fits)
        return _say(
            f"There are several {item['name']} variants with {format_options(target)}: "
            f"{listed}. {CLARIFY_MARK}"
        )
    chosen = chosen or fits[0]
    return chosen, [str(v["item_id"]) for v in fits if v is not chosen]


def _chosen_variant(
    name: str, fits: list[dict[str, Any]], pos: int, conv: _Conversation
) -> dict[str, Any] | None:
    """The variant the user picked in answer to a clarifying question, if any."""
    for text in reversed(conv.user_texts(after=pos)):
        for product, options in _CHOICE_RE.findall(text):
            if product == name:
                wanted = parse_options(options)
                return next((v for v in fits if v["options"] == wanted), None)
    return None


def _payment_choice(
    order: dict[str, Any], request: str, pos: int, conv: _Conversation
) -> tuple[dict[str, Any], bool]:
    """The method the user asked for (since the request, else in it), else the order's
    original one; and whether the request itself named it."""
    for text in reversed(conv.user_texts(after=pos)):
        if _USE_RE.search(text):
            method = _named_method(text, conv)
            if method is not None:
                return method, False
    named = _DIFFERENCE_RE.search(request)
    method = _named_method(named.group(1), conv) if named else None
    if method is not None:
        return method, True
    original = order["payment_history"][0]["payment_method_id"]
    methods = {m["id"]: m for m in conv.methods()}
    return methods.get(original, {"id": original, "source": "unknown"}), False


def _items_plan(
    kind: str,
    order: dict[str, Any],
    matched: list[dict[str, Any]],
    variants: list[dict[str, Any]],
    method: dict[str, Any],
    conv: _Conversation,
) -> _Plan:
    oid = order["order_id"]
    desc = describe_payment(method, conv.methods())
    args: dict[str, Any] = {"order_id": oid, "item_ids": [i["item_id"] for i in matched]}
    if kind in SWAP_KINDS:
        args["new_item_ids"] = [str(v["item_id"]) for v in variants]
        pairs = " and ".join(
            f"the {i['name']} ({format_options(i['options'])}) for the variant with "
            f"({format_options(v['options'])})"
            for i, v in zip(matched, variants, strict=True)
        )
        verb = "exchange" if kind == "exchange_delivered_order_items" else "change"
        details = f"{verb} {pairs} in order {oid}"
        phrase = f" Any price difference will be settled with your {desc}."
    else:
        things = " and ".join(f"the {i['name']} ({format_options(i['options'])})" for i in matched)
        total = sum(i["price"] for i in matched)
        details = f"return {things} from order {oid}, a refund of ${money(total)}"
        phrase = f" The refund will go to your {desc}."
    args["payment_method_id"] = method["id"]
    return _Plan(kind, args, details, phrase, items=matched)


# -- error-mode alternatives ---------------------------------------------------------------------


def _wrong_order(plan: _Plan, conv: _Conversation) -> list[dict[str, Any]]:
    """The same write on another order of the user that matches."""
    oid = plan.args.get("order_id")
    if oid is None or plan.name not in REQUIRED_ORDER_STATUS:
        return []
    out = []
    for other in conv.orders.values():
        if other["order_id"] == oid or not _status_ok(plan.name, other):
            continue
        if plan.name not in ITEM_KINDS:
            out.append({**plan.args, "order_id": other["order_id"]})
            continue
        ids = _same_products(plan.items, other)
        if ids is not None and ids != plan.args.get("new_item_ids"):
            out.append({**plan.args, "order_id": other["order_id"], "item_ids": ids})
    return out


def _same_products(items: list[dict[str, Any]], order: dict[str, Any]) -> list[str] | None:
    left = list(order.get("items", []))
    ids = []
    for item in items:
        other = next((i for i in left if i["product_id"] == item["product_id"]), None)
        if other is None:
            return None
        left.remove(other)
        ids.append(str(other["item_id"]))
    return ids


def _wrong_item(plan: _Plan, conv: _Conversation) -> list[dict[str, Any]]:
    """The same write with the first item replaced by another item of the order."""
    if plan.name not in ITEM_KINDS:
        return []
    order = conv.orders.get(str(plan.args["order_id"]), {})
    chosen = {i["item_id"] for i in plan.items}
    others = sorted({i["item_id"] for i in order.get("items", []) if i["item_id"] not in chosen})
    return [{**plan.args, "item_ids": [o, *plan.args["item_ids"][1:]]} for o in others]


def _wrong_variant(plan: _Plan, conv: _Conversation) -> list[dict[str, Any]]:
    """The same swap with the first new item replaced by another available variant."""
    if plan.name not in SWAP_KINDS or not plan.items:
        return []
    item, target = plan.items[0], plan.args["new_item_ids"][0]
    product = conv.products.get(item["product_id"], {})
    others = sorted(
        v["item_id"]
        for v in product.get("variants", {}).values()
        if v["available"] and v["item_id"] not in (target, item["item_id"])
    )
    return [{**plan.args, "new_item_ids": [o, *plan.args["new_item_ids"][1:]]} for o in others]
