"""The verifier: a task is accepted only with a certificate that it is feasible and well posed.

Checks, each recorded in the certificate:

* ``gold_replay_ok`` - the gold actions replay on a fresh DB with no tool error;
* ``state_changed`` - the gold end state differs from the start (unless the task only asks for
  information it must communicate);
* ``noop_reward`` - a do-nothing episode scores 0, and the gold episode scores 1;
* ``targets_identified`` - what the scenario says determines the records the gold writes
  touch: the user's identity resolves (an email, or a name and zip code, of that user) and
  every order written to is named in the scenario or is the user's only order that the tool
  could act on; every option value of every new variant a swap writes is in the scenario, and
  where the reason for the call states only part of them (a vague description that fits
  several available variants), the rest is in the scenario for one clarifying question, and
  only one such question is needed.

The checks on words are lexical (names, ids, values found in the text): they hold for the
template writer's wording by construction and catch a writer that drops a fact; an LLM
writer's text is also checked by an LLM (:mod:`taskforge.synthesis.llm`).

Rejected candidates keep their reasons; the acceptance rate is a figure worth reporting.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from taskforge.contracts import Certificate, Message, Task, TerminationReason
from taskforge.env.audit import audit_task
from taskforge.env.bench import gold_messages
from taskforge.env.db import Database
from taskforge.env.domains.retail.tools import LOOSE_PENDING_TOOLS, REQUIRED_ORDER_STATUS
from taskforge.env.evaluator import Evaluator
from taskforge.env.toolkit import Toolkit
from taskforge.rollout.prompts import GREETING, scenario_text

VERIFIER_VERSION = "verify-v1"
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


@dataclass
class Verdict:
    """The verifier's decision on one task."""

    task_id: str
    accepted: bool
    reasons: list[str] = field(default_factory=list)
    certificate: Certificate | None = None


def _writes(task: Task, toolkit_cls: type[Toolkit]) -> list[dict[str, Any]]:
    return [
        a.arguments
        for a in task.gold_actions()
        if a.name in toolkit_cls.specs and toolkit_cls.specs[a.name].mutates
    ]


def _target_user(task: Task, toolkit_cls: type[Toolkit], db: Database) -> str | None:
    for args in _writes(task, toolkit_cls):
        if "user_id" in args:
            return str(args["user_id"])
        order = db.tables["orders"].get(str(args.get("order_id")))
        if order is not None:
            return str(order["user_id"])
    return None


def identity_resolves(text: str, user: dict[str, Any]) -> bool:
    """Whether the scenario gives the user's email, or their full name and zip code."""
    emails = {e.lower().rstrip(".") for e in _EMAIL.findall(text)}
    if user["email"].lower() in emails:
        return True
    low = text.lower()
    name = user["name"]
    return (
        f"{name['first_name']} {name['last_name']}".lower() in low
        and user["address"]["zip"] in text
    )


def _squash(text: str) -> str:
    return re.sub(r"[^a-z0-9#]", "", text.lower())


def _order_identified(
    text: str, tool: str, targets: set[str], user: dict[str, Any], db: Database
) -> bool:
    """The orders a write tool acts on are named, or are exactly the candidates left by the
    tool's required status and the products the scenario mentions ("all my pending
    t-shirts", "the order with the vase")."""
    if all(o in text or o.lstrip("#") in text for o in targets):
        return True
    wanted = REQUIRED_ORDER_STATUS.get(tool)
    orders = db.tables["orders"]
    candidates = {
        oid for oid in user["orders"] if wanted and _status_ok(orders[oid]["status"], wanted, tool)
    }
    if candidates == targets:
        return True
    squashed = _squash(text)
    described = {
        oid
        for oid in candidates
        if any(_squash(item["name"]) in squashed for item in orders[oid]["items"])
    }
    return described == targets


def _status_ok(status: str, wanted: str, tool: str) -> bool:
    return wanted in status if tool in LOOSE_PENDING_TOOLS else status == wanted


def _mentions(text: str, value: str) -> bool:
    """Whether ``value`` occurs in ``text`` as a whole word (case-blind unless it is short)."""
    flags = re.IGNORECASE if len(value) > 2 else 0
    return re.search(rf"(?<!\w){re.escape(value)}(?!\w)", text, flags) is not None


def _swaps(task: Task, db: Database) -> list[tuple[str, Any, Any, Any]]:
    """(tool, order, old item, new variant) of every gold swap, on the task's DB."""
    out = []
    orders, products = db.tables["orders"], db.tables["products"]
    for action in task.gold_actions():
        order = orders.get(str(action.arguments.get("order_id")))
        new_ids = action.arguments.get("new_item_ids") or []
        if order is None or not new_ids:
            continue
        for old_id, new_id in zip(action.arguments.get("item_ids") or [], new_ids, strict=False):
            old = next((i for i in order["items"] if i["item_id"] == old_id), None)
            product = products.get(str(old["product_id"])) if old else None
            new = product["variants"].get(new_id) if product else None
            if new is not None:
                out.append((action.name, order, old, new))
    return out


def variants_identified(task: Task, db: Database) -> tuple[list[str], int]:
    """Reasons why the new variants of the gold swaps are not determined by the scenario, and
    how many clarifying questions the reason for the call leaves to ask."""
    text = scenario_text(task)
    instructions = task.user_scenario.instructions
    reason = instructions if isinstance(instructions, str) else instructions.reason_for_call
    problems, questions = [], 0
    for tool, order, old, new in _swaps(task, db):
        missing = [f"{k}: {v}" for k, v in new["options"].items() if not _mentions(text, v)]
        if missing:
            problems.append(f"new variant of {tool} on {order['order_id']}: {missing} not said")
            continue
        said = reason
        for item in order["items"]:
            said = said.replace(_item_text(item), "")
        stated = {k: v for k, v in new["options"].items() if _mentions(said, v)}
        product = db.tables["products"][str(old["product_id"])]
        fits = [
            v
            for v in product["variants"].values()
            if v["available"]
            and v["item_id"] != old["item_id"]
            and all(v["options"].get(k) == value for k, value in stated.items())
        ]
        questions += len(fits) > 1
    if questions > 1:
        problems.append(f"{questions} vague variant descriptions: more than one question")
    return problems, questions


def _item_text(item: Any) -> str:
    options = ", ".join(f"{k}: {v}" for k, v in item["options"].items())
    return f"{item['name']} ({options})" if options else str(item["name"])


def targets_identified(task: Task, toolkit_cls: type[Toolkit], db: Database) -> list[str]:
    """Reasons why the scenario does not determine the gold writes' targets (empty: it does)."""
    user_id = _target_user(task, toolkit_cls, db)
    if user_id is None:
        return [] if not _writes(task, toolkit_cls) else ["gold writes touch no known user"]
    user = db.tables["users"][user_id]
    text = scenario_text(task)
    problems = [] if identity_resolves(text, user) else [f"identity of {user_id} not given"]
    targets: dict[str, set[str]] = {}
    for action in task.gold_actions():
        spec = toolkit_cls.specs.get(action.name)
        if spec is not None and spec.mutates and action.arguments.get("order_id"):
            targets.setdefault(action.name, set()).add(str(action.arguments["order_id"]))
    for tool, orders in sorted(targets.items()):
        if not _order_identified(text, tool, orders, user, db):
            problems.append(f"orders {sorted(orders)} of {tool} are not determined by the scenario")
    return problems + variants_identified(task, db)[0]


def verify_task(
    task: Task, toolkit_cls: type[Toolkit], db: Database, evaluator: Evaluator | None = None
) -> Verdict:
    """Run every check; accept the task only if all pass."""
    evaluator = evaluator or Evaluator(toolkit_cls, db)
    audit = audit_task(toolkit_cls, db, task)
    stop = TerminationReason.USER_STOP
    info_only = not _writes(task, toolkit_cls) and bool(
        task.evaluation_criteria and task.evaluation_criteria.communicate_info
    )
    noop = evaluator.evaluate(task, [Message(role="assistant", content=GREETING)], stop).reward
    gold = evaluator.evaluate(task, gold_messages(toolkit_cls, db, task), stop).reward
    identity = targets_identified(task, toolkit_cls, db)
    reasons = [f"gold action {e.action_index} ({e.name}): {e.error}" for e in audit.gold_errors]
    if not audit.db_changed and not info_only:
        reasons.append("the gold actions change nothing and there is nothing to communicate")
    if noop != 0.0:
        reasons.append(f"a do-nothing episode scores {noop}")
    if gold != 1.0:
        reasons.append(f"the gold episode scores {gold}")
    reasons += identity
    certificate = Certificate(
        gold_replay_ok=not audit.gold_errors,
        state_changed=audit.db_changed,
        noop_reward=noop,
        targets_identified=not identity,
        db_hash=db.hash,
        gold_end_hash=evaluator.gold(task).hash,
        checks={
            "gold_reward": gold,
            "information_only": info_only,
            "clarifying_questions": variants_identified(task, db)[1],
            "reasons": reasons,
        },
        verifier_version=VERIFIER_VERSION,
    )
    return Verdict(task.id, not reasons, reasons, certificate if not reasons else None)


__all__ = [
    "VERIFIER_VERSION",
    "Verdict",
    "identity_resolves",
    "targets_identified",
    "variants_identified",
    "verify_task",
]
