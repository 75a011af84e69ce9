"""Naive seed tasks: one grounded, feasible request per task, drawn from a Retail DB.

The sampler injects no difficulty (the targeted stage does that). It goes round-robin over
:data:`SEED_KINDS` — the seven Retail write tools and a read-only information request — and
grounds each task in real records: a user, one of their orders in the right status, an
available other variant of the same product, a payment method that the tools accept. Every
candidate is audited (gold replay on a fresh DB): a gold action that errors, or a write task
that leaves the DB unchanged, makes the sampler try another record. No two tasks act on the
same order, so the tasks are independent.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from taskforge.contracts import (
    Action,
    Description,
    EvaluationCriteria,
    Lineage,
    RewardType,
    StructuredUserInstructions,
    Task,
    UserScenario,
)
from taskforge.domains.retail.tools import CANCEL_REASONS, REQUIRED_ORDER_STATUS, RetailTools
from taskforge.env.audit import audit_task
from taskforge.env.db import Database, Record
from taskforge.errors import DataError
from taskforge.synthesis.grounding import (
    CANCEL_WORDS,
    Call,
    address_words,
    alternatives,
    can_pay,
    distinct_addresses,
    distinct_items,
    item_words,
    items_words,
    name_zip,
    options_text,
    user_methods,
)

GENERATOR = "naive-seed-v1"
"""Name of this sampler in the tasks' lineage."""

INFO_KIND = "information_request"
SEED_KINDS: tuple[str, ...] = (
    "cancel_pending_order",
    "modify_pending_order_address",
    "modify_pending_order_items",
    "modify_pending_order_payment",
    "modify_user_address",
    "return_delivered_order_items",
    "exchange_delivered_order_items",
    INFO_KIND,
)
"""Task kinds, in round-robin order: the write tool a task needs, or the information kind."""

_CALL_ENDING = (
    "Answer the agent's questions with what you know, confirm with 'yes' when the agent "
    "lists exactly what you asked for, and end the conversation once it is done."
)
_INFO_ENDING = (
    "You only want this information and no change to your account or orders. End the "
    "conversation once the agent has told you."
)


@dataclass
class _Draft:
    """A grounded case before it becomes a :class:`Task`."""

    kind: str
    user_id: str
    key: str
    reason: str
    purpose: str
    calls: list[Call]
    communicate: list[str] = field(default_factory=list)


def sample_seed_tasks(db: Database, n: int, seed: int, prefix: str = "seed") -> list[Task]:
    """Sample ``n`` feasible, independent naive tasks from a Retail DB.

    Args:
        db: A Retail database (``get_domain("retail").load_db(path)``).
        n: Number of tasks.
        seed: Seed of the ``random.Random`` behind every choice; same arguments, same tasks.
        prefix: Task ids are ``f"{prefix}_{i:03d}"``.

    Returns:
        The tasks, kinds in round-robin order over :data:`SEED_KINDS`.

    Raises:
        ValueError: ``n`` is negative.
        DataError: The DB has too few suitable records for ``n`` tasks.
    """
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    sampler = _Sampler(db, random.Random(seed), _config_hash(db, seed))
    tasks = []
    for i in range(n):
        task = sampler.next_task(i, f"{prefix}_{i:03d}")
        if task is None:
            raise DataError(f"the DB has records for only {i} independent seed tasks, not {n}")
        tasks.append(task)
    return tasks


def task_kind(task: Task) -> str:
    """The seed kind of a task: the write tool its gold actions end with, or the info kind."""
    actions = task.gold_actions()
    if actions and actions[-1].name in SEED_KINDS:
        return actions[-1].name
    return INFO_KIND


def _config_hash(db: Database, seed: int) -> str:
    config = {"generator": GENERATOR, "seed": seed, "db_hash": db.hash}
    return hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()[:16]


class _Sampler:
    """State of one sampling run: the RNG, candidate queues per kind, records already used."""

    def __init__(self, db: Database, rng: random.Random, config_hash: str) -> None:
        self.db = db
        self.rng = rng
        self.config_hash = config_hash
        self.users: dict[str, Record] = db.tables["users"]
        self.orders: dict[str, Record] = db.tables["orders"]
        self.products: dict[str, Record] = db.tables["products"]
        self.used: set[str] = set()
        self.queues: dict[str, Iterator[Record]] = {}
        self.emails = Counter(u["email"].lower() for u in self.users.values())
        self.name_zips = Counter(name_zip(u) for u in self.users.values())
        self.addresses = distinct_addresses(self.users.values())
        self.n_info = 0
        """Information tasks made so far (they alternate between two sources)."""

    def next_task(self, index: int, task_id: str) -> Task | None:
        """The task at ``index``: its round-robin kind, or the next kind that has records."""
        for offset in range(len(SEED_KINDS)):
            kind = SEED_KINDS[(index + offset) % len(SEED_KINDS)]
            task = self._task_of_kind(kind, index, task_id)
            if task is not None:
                return task
        return None

    def _task_of_kind(self, kind: str, index: int, task_id: str) -> Task | None:
        prefer_email = (index + index // len(SEED_KINDS)) % 2 == 0
        for source in self._sources(kind):
            for record in self._queue(source):
                draft = _BUILDERS[source](self, record)
                if draft is None or draft.key in self.used:
                    continue
                task = self._to_task(draft, task_id, prefer_email)
                if task is not None and self._feasible(task, draft):
                    self.used.add(draft.key)
                    self.n_info += 1 if kind == INFO_KIND else 0
                    return task
        return None

    def _sources(self, kind: str) -> tuple[str, ...]:
        """Record sources of a kind; information tasks alternate order totals and balances."""
        if kind != INFO_KIND:
            return (kind,)
        sources = ("order_total", "gift_card_balance")
        return sources if self.n_info % 2 == 0 else sources[::-1]

    def _queue(self, source: str) -> Iterator[Record]:
        """Candidate records of a source, shuffled once, consumed as they are tried."""
        if source not in self.queues:
            table = self.users if source in _USER_SOURCES else self.orders
            status = REQUIRED_ORDER_STATUS.get(source)
            keys = [k for k, r in table.items() if status is None or r["status"] == status]
            self.rng.shuffle(keys)
            self.queues[source] = (table[k] for k in keys)
        return self.queues[source]

    def _feasible(self, task: Task, draft: _Draft) -> bool:
        audit = audit_task(RetailTools, self.db, task)
        if audit.gold_errors:
            return False
        return audit.db_changed != (draft.kind == INFO_KIND)

    def _to_task(self, draft: _Draft, task_id: str, prefer_email: bool) -> Task | None:
        user = self.users[draft.user_id]
        auth = self._auth(user, prefer_email)
        if auth is None:
            return None
        known, unknown, lookup = auth
        calls = [lookup, ("get_user_details", {"user_id": draft.user_id}), *draft.calls]
        info = draft.kind == INFO_KIND
        instructions = StructuredUserInstructions(
            domain="retail",
            reason_for_call=draft.reason,
            known_info=known,
            unknown_info=unknown,
            task_instructions=_INFO_ENDING if info else _CALL_ENDING,
        )
        criteria = EvaluationCriteria(
            actions=[_action(task_id, j, c) for j, c in enumerate(calls)],
            communicate_info=list(draft.communicate),
            reward_basis=[RewardType.DB, RewardType.COMMUNICATE],
        )
        return Task(
            id=task_id,
            description=Description(purpose=draft.purpose),
            user_scenario=UserScenario(instructions=instructions),
            evaluation_criteria=criteria,
            origin="seed",
            lineage=Lineage(generator=GENERATOR, config_hash=self.config_hash),
        )

    def _auth(self, user: Record, prefer_email: bool) -> tuple[str, str, Call] | None:
        """What the user knows to authenticate, and the matching lookup call."""
        first, last = user["name"]["first_name"], user["name"]["last_name"]
        email_ok = self.emails[user["email"].lower()] == 1
        zip_ok = self.name_zips[name_zip(user)] == 1
        if email_ok and (prefer_email or not zip_ok):
            known = f"You are {first} {last} and your email address is {user['email']}."
            lookup: Call = ("find_user_id_by_email", {"email": user["email"]})
            return known, "You do not remember your user id.", lookup
        if not zip_ok:
            return None
        zip_code = user["address"]["zip"]
        known = f"You are {first} {last} and your zip code is {zip_code}."
        args = {"first_name": first, "last_name": last, "zip": zip_code}
        return known, "You do not remember your email address.", ("find_user_id_by_name_zip", args)

    def new_address(self, current: Record) -> Record | None:
        """An address of another user, different from ``current``."""
        for _ in range(8):
            address = self.rng.choice(self.addresses)
            if address != current:
                return address
        return None

    def owner(self, order: Record) -> Record:
        """The user who placed ``order``."""
        return self.users[order["user_id"]]

    def product(self, item: Record) -> Record:
        """The product of an order item."""
        return self.products[item["product_id"]]


def _action(task_id: str, index: int, call: Call) -> Action:
    name, arguments = call
    return Action(action_id=f"{task_id}_{index}", name=name, arguments=arguments)


# -- words ----------------------------------------------------------------------------------


def _order_words(order: Record) -> str:
    return f"{order['order_id']}, which contains {items_words(order['items'])},"


def _money(amount: float) -> str:
    """An amount as the agent would say it, without thousands separators or trailing zeros."""
    return f"{amount:.2f}".rstrip("0").rstrip(".")


# -- picking records --------------------------------------------------------------------------


def _swaps(s: _Sampler, order: Record) -> list[tuple[Record, Record]]:
    """One or two (old item, new variant) pairs for an exchange or an item modification."""
    pairs = []
    for item in distinct_items(order):
        options = alternatives(s.product(item), item)
        if options:
            pairs.append((item, s.rng.choice(options)))
    if not pairs:
        return []
    return s.rng.sample(pairs, s.rng.randint(1, min(2, len(pairs))))


def _difference_payer(s: _Sampler, user: Record, diff: float) -> str | None:
    """A payment method id that can pay (or receive) the price difference ``diff``."""
    methods = user_methods(user)
    usable = [mid for mid in methods if can_pay(user["payment_methods"][mid], diff)]
    return s.rng.choice(usable) if usable else None


def _swap_draft(s: _Sampler, order: Record, kind: str) -> tuple[list[Record], Call, str] | None:
    """Items, write call and words shared by exchanges and item modifications."""
    swaps = _swaps(s, order)
    if not swaps:
        return None
    diff = round(sum(new["price"] - old["price"] for old, new in swaps), 2)
    payer = _difference_payer(s, s.owner(order), diff)
    if payer is None:
        return None
    args = {
        "order_id": order["order_id"],
        "item_ids": [old["item_id"] for old, _ in swaps],
        "new_item_ids": [new["item_id"] for _, new in swaps],
        "payment_method_id": payer,
    }
    changes = "; and ".join(
        f"the {item_words(old)} for the same product with {options_text(new['options'])}"
        for old, new in swaps
    )
    payer_words = user_methods(s.owner(order))[payer]
    words = f"{changes}. Any price difference should be settled with {payer_words}"
    return [old for old, _ in swaps], (kind, args), words


def _product_reads(items: list[Record]) -> list[Call]:
    pids = dict.fromkeys(i["product_id"] for i in items)
    return [("get_product_details", {"product_id": pid}) for pid in pids]


# -- one builder per kind ---------------------------------------------------------------------


def _cancel(s: _Sampler, order: Record) -> _Draft | None:
    reason = s.rng.choice(CANCEL_REASONS)
    oid = order["order_id"]
    return _Draft(
        kind="cancel_pending_order",
        user_id=order["user_id"],
        key=oid,
        reason=(
            f"You want to cancel your pending order {_order_words(order)} "
            f"because you {CANCEL_WORDS[reason]}."
        ),
        purpose="Cancel a pending order with the reason the user gives.",
        calls=[
            ("get_order_details", {"order_id": oid}),
            ("cancel_pending_order", {"order_id": oid, "reason": reason}),
        ],
    )


def _order_address(s: _Sampler, order: Record) -> _Draft | None:
    address = s.new_address(order["address"])
    if address is None:
        return None
    oid = order["order_id"]
    return _Draft(
        kind="modify_pending_order_address",
        user_id=order["user_id"],
        key=oid,
        reason=(
            f"You want your pending order {_order_words(order)} to be "
            f"shipped to a different address: {address_words(address)}."
        ),
        purpose="Change the shipping address of a pending order.",
        calls=[
            ("get_order_details", {"order_id": oid}),
            ("modify_pending_order_address", {"order_id": oid, **address}),
        ],
    )


def _order_items(s: _Sampler, order: Record) -> _Draft | None:
    return _swap_task(
        s,
        order,
        "modify_pending_order_items",
        "In your pending order {oid} you want to swap {words}.",
        "Swap items of a pending order for other variants of the same products.",
    )


def _swap_task(s: _Sampler, order: Record, kind: str, reason: str, purpose: str) -> _Draft | None:
    """An item swap (pending modification or delivered exchange) of one order."""
    swap = _swap_draft(s, order, kind)
    if swap is None:
        return None
    items, write, words = swap
    oid = order["order_id"]
    return _Draft(
        kind=kind,
        user_id=order["user_id"],
        key=oid,
        reason=reason.format(oid=oid, words=words),
        purpose=purpose,
        calls=[("get_order_details", {"order_id": oid}), *_product_reads(items), write],
    )


def _order_payment(s: _Sampler, order: Record) -> _Draft | None:
    history = order["payment_history"]
    if len(history) != 1 or history[0]["transaction_type"] != "payment":
        return None
    user, old_id, amount = s.owner(order), history[0]["payment_method_id"], history[0]["amount"]
    methods = user_methods(user)
    choices = [m for m in methods if m != old_id and can_pay(user["payment_methods"][m], amount)]
    if not choices or old_id not in methods:
        return None
    new_id, oid = s.rng.choice(choices), order["order_id"]
    return _Draft(
        kind="modify_pending_order_payment",
        user_id=order["user_id"],
        key=oid,
        reason=(
            f"You want to pay for your pending order {_order_words(order)} "
            f"with {methods[new_id]} instead of {methods[old_id]}."
        ),
        purpose="Change the payment method of a pending order.",
        calls=[
            ("get_order_details", {"order_id": oid}),
            ("modify_pending_order_payment", {"order_id": oid, "payment_method_id": new_id}),
        ],
    )


def _user_address(s: _Sampler, user: Record) -> _Draft | None:
    address = s.new_address(user["address"])
    if address is None:
        return None
    return _Draft(
        kind="modify_user_address",
        user_id=user["user_id"],
        key=f"user:{user['user_id']}",
        reason=(
            "You have moved and want the default address in your profile changed to "
            f"{address_words(address)}."
        ),
        purpose="Change the default address of a user's profile.",
        calls=[("modify_user_address", {"user_id": user["user_id"], **address})],
    )


def _return(s: _Sampler, order: Record) -> _Draft | None:
    items = distinct_items(order)
    if not items:
        return None
    items = s.rng.sample(items, s.rng.randint(1, min(2, len(items))))
    user, original = s.owner(order), order["payment_history"][0]["payment_method_id"]
    methods = user_methods(user)
    cards = [m for m in methods if user["payment_methods"][m]["source"] == "gift_card"]
    targets = [m for m in dict.fromkeys((original, *cards)) if m in methods]
    if not targets:
        return None
    refund_to, oid = s.rng.choice(targets), order["order_id"]
    args = {"order_id": oid, "item_ids": [i["item_id"] for i in items]}
    return _Draft(
        kind="return_delivered_order_items",
        user_id=order["user_id"],
        key=oid,
        reason=(
            f"You received your order {oid} and want to return the {items_words(items)}. "
            f"You want the refund to go to {methods[refund_to]}."
        ),
        purpose="Return items of a delivered order, refunded to an allowed payment method.",
        calls=[
            ("get_order_details", {"order_id": oid}),
            ("return_delivered_order_items", {**args, "payment_method_id": refund_to}),
        ],
    )


def _exchange(s: _Sampler, order: Record) -> _Draft | None:
    return _swap_task(
        s,
        order,
        "exchange_delivered_order_items",
        "You received your order {oid} and want to exchange {words}.",
        "Exchange delivered items for other variants of the same products.",
    )


def _order_total(s: _Sampler, order: Record) -> _Draft | None:
    history = order["payment_history"]
    if len(history) != 1 or history[0]["transaction_type"] != "payment":
        return None
    amount, oid = history[0]["amount"], order["order_id"]
    if not _has_cents(amount):
        return None
    return _Draft(
        kind=INFO_KIND,
        user_id=order["user_id"],
        key=oid,
        reason=f"You want to know the total amount you paid for your order {oid}.",
        purpose="Look up and tell the user the total paid for an order.",
        calls=[("get_order_details", {"order_id": oid})],
        communicate=[_money(amount)],
    )


def _gift_card_balance(s: _Sampler, user: Record) -> _Draft | None:
    cards = [m for m in user["payment_methods"].values() if m["source"] == "gift_card"]
    if len(cards) != 1 or not _has_cents(cards[0]["balance"]):
        return None
    return _Draft(
        kind=INFO_KIND,
        user_id=user["user_id"],
        key=f"user:{user['user_id']}",
        reason="You want to know the current balance of your gift card.",
        purpose="Look up and tell the user their gift card balance.",
        calls=[],
        communicate=[_money(cards[0]["balance"])],
    )


def _has_cents(amount: float) -> bool:
    """Whole amounts are skipped: '100' would be found inside too many unrelated numbers."""
    return amount > 0 and round(amount * 100) % 100 != 0


_USER_SOURCES = frozenset({"modify_user_address", "gift_card_balance"})
_BUILDERS: dict[str, Callable[[_Sampler, Record], _Draft | None]] = {
    "cancel_pending_order": _cancel,
    "modify_pending_order_address": _order_address,
    "modify_pending_order_items": _order_items,
    "modify_pending_order_payment": _order_payment,
    "modify_user_address": _user_address,
    "return_delivered_order_items": _return,
    "exchange_delivered_order_items": _exchange,
    "order_total": _order_total,
    "gift_card_balance": _gift_card_balance,
}
