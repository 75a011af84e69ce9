"""The verifier: a task is accepted only with a certificate that it is feasible and well posed.

Checks, each recorded in the certificate:

* ``gold_replay_ok`` - the gold actions replay on a fresh DB with no tool error;
* ``state_changed`` - the gold end state differs from the start (unless the task only asks for
  information it must communicate);
* ``noop_reward`` - a do-nothing episode scores 0, and the gold episode scores 1;
* ``targets_identified`` - what the scenario says determines the records the gold writes
  touch: the user's identity resolves (an email, or a name and zip code, of that user) and
  every order written to is named in the scenario, is singled out by a product it names among
  the user's orders the tool could act on, or is the only such order. For scenarios written by
  taskforge's templates, every argument of every gold write is also said (the items, every
  option of each new variant, the payment method, the reason, the address), and a vague
  variant description (the reason for the call states options that fit several available
  variants; the rest is in the known info) leaves at most one clarifying question;
* ``llm_agreement`` (in ``checks``) - for LLM-written scenarios, an LLM confirms that the
  scenario asks for exactly the gold writes (:mod:`taskforge.synthesis.agreement`).

The checks on words are lexical (ids, names and values found in the text): they hold for the
templates' wording by construction and catch an edit that breaks it (change one gold
argument and the scenario no longer says it). Free text (tau2's tasks, an LLM's) is checked
for identity and orders only, and an LLM's text by the agreement check besides.

The record a write acts on, how a user proves who they are and which arguments a templated
scenario must say are the domain's (Retail's orders by default); a domain's synthesis kit may
name them (see :class:`~taskforge.domains.protocols.SynthesisKit`): ``RECORD_TABLE`` and
``RECORD_ARG``, ``identity_given``, ``record_names`` and ``write_problems``.

Rejected candidates keep their reasons; the acceptance rate is a figure worth reporting.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from taskforge.contracts import Certificate, Message, Task, TerminationReason
from taskforge.domains import domain_of
from taskforge.env.audit import audit_task
from taskforge.env.bench import gold_messages
from taskforge.env.db import Database
from taskforge.env.evaluator import Evaluator
from taskforge.env.toolkit import Toolkit
from taskforge.rollout.prompts import GREETING, scenario_text
from taskforge.synthesis.grounding import CANCEL_WORDS, item_words, method_words

VERIFIER_VERSION = "verify-v2"
VERBATIM_WRITERS = ("template-writer", "naive-seed")
"""Generators whose scenarios put every argument value in words as it is (lexical checks)."""
_CONTRAST = re.compile(r"(not with|rather than|instead of)\s+(your\s+)?$")
_ADDRESS_FIELDS = ("address1", "address2", "city", "state", "country", "zip")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


@dataclass
class Verdict:
    """The verifier's decision on one task."""

    task_id: str
    accepted: bool
    reasons: list[str] = field(default_factory=list)
    certificate: Certificate | None = None
    """The certificate, when the task is accepted."""
    version: str = VERIFIER_VERSION
    """Version of the check that gave the verdict."""


def _writes(task: Task, toolkit_cls: type[Toolkit]) -> list[dict[str, Any]]:
    return [
        a.arguments
        for a in task.gold_actions()
        if a.name in toolkit_cls.specs and toolkit_cls.specs[a.name].mutates
    ]


def _kit(db: Database) -> Any:
    """The synthesis kit of the domain of ``db`` (None when it has none)."""
    domain = domain_of(db)
    return domain.synthesis_kit() if domain.has("synthesis") else None


def record_key(db: Database) -> tuple[str, str]:
    """(table, argument) of the records a write acts on: the kit's, else Retail's orders."""
    kit = _kit(db)
    return getattr(kit, "RECORD_TABLE", "orders"), getattr(kit, "RECORD_ARG", "order_id")


def _records(db: Database) -> dict[str, Any]:
    return db.tables.get(record_key(db)[0], {})


def _record_of(args: dict[str, Any], db: Database) -> Any:
    """The record a write's arguments name (None: none)."""
    return _records(db).get(str(args.get(record_key(db)[1])))


def _target_user(task: Task, toolkit_cls: type[Toolkit], db: Database) -> str | None:
    for args in _writes(task, toolkit_cls):
        if "user_id" in args:
            return str(args["user_id"])
        record = _record_of(args, db)
        if record is not None:
            return str(record["user_id"])
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


def _item_names(record: dict[str, Any]) -> list[str]:
    """Retail's words for an order: the names of its products."""
    return [str(item["name"]) for item in record["items"]]


def _order_identified(
    text: str, tool: str, targets: set[str], user: dict[str, Any], db: Database
) -> bool:
    """The records (orders) a write tool acts on are named, or are exactly the candidates left
    by the tool's required status and the products the scenario mentions ("all my pending
    t-shirts", "the order with the vase")."""
    if all(o in text or o.lstrip("#") in text for o in targets):
        return True
    kit = domain_of(db).synthesis_kit()
    table = record_key(db)[0]
    records = db.tables[table]
    owned = [k for k in user.get(table, []) if k in records]
    candidates = {k for k in owned if kit.status_ok(tool, records[k]["status"])}
    if candidates == targets:
        return True
    squashed = _squash(text)
    names = getattr(kit, "record_names", _item_names)
    described = {k for k in candidates if any(_squash(n) in squashed for n in names(records[k]))}
    return described == targets


def _mentions(text: str, value: str) -> bool:
    """Whether ``value`` occurs in ``text`` as a whole word (case-blind unless it is short)."""
    flags = re.IGNORECASE if len(value) > 2 else 0
    return re.search(rf"(?<!\w){re.escape(value)}(?!\w)", text, flags) is not None


def _swaps_of(action: Any, order: Any, db: Database) -> list[tuple[str, Any, Any, Any]]:
    """(tool, order, old item, new variant) of each swap one gold write makes."""
    out: list[tuple[str, Any, Any, Any]] = []
    new_ids = action.arguments.get("new_item_ids") or []
    if order is None or not new_ids:
        return out
    for old_id, new_id in zip(action.arguments.get("item_ids") or [], new_ids, strict=False):
        old = next((i for i in order["items"] if i["item_id"] == old_id), None)
        product = db.tables["products"].get(str(old["product_id"])) if old else None
        new = product["variants"].get(new_id) if product else None
        if new is not None:
            out.append((action.name, order, old, new))
    return out


def _swaps(task: Task, db: Database) -> list[tuple[str, Any, Any, Any]]:
    """(tool, order, old item, new variant) of every gold swap, on the task's DB."""
    return [
        swap
        for action in task.gold_actions()
        for swap in _swaps_of(action, _record_of(action.arguments, db), db)
    ]


def _reason_text(task: Task) -> str:
    instructions = task.user_scenario.instructions
    return instructions if isinstance(instructions, str) else instructions.reason_for_call


def clarifying_questions(task: Task, db: Database) -> int:
    """How many gold swaps the reason for the call describes vaguely: the option values it
    states for the new variant (leaving aside the items the order has) fit several available
    variants, so the agent has to ask which one is meant."""
    questions = 0
    for _, order, old, new in _swaps(task, db):
        said = _reason_text(task)
        for item in order["items"]:
            said = said.replace(item_words(item), "")
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
    return questions


def verbatim(task: Task) -> bool:
    """Whether taskforge's templates wrote the task (they put every value in words as it is)."""
    generator = (task.lineage.generator if task.lineage else None) or ""
    return generator.startswith(VERBATIM_WRITERS)


def _said(text: str, phrase: str) -> bool:
    """Whether ``phrase`` occurs in ``text`` other than as the method not to use ("rather than
    your ...", "not with ...", "instead of ...")."""
    low, wanted = text.lower(), phrase.lower()
    start = low.find(wanted)
    while start >= 0:
        if not _CONTRAST.search(low[max(0, start - 30) : start]):
            return True
        start = low.find(wanted, start + 1)
    return False


def _write_problems(text: str, action: Any, order: Any, user: Any, db: Database) -> list[str]:
    """The arguments of one gold write that the scenario does not say."""
    args, missing = action.arguments, []
    for item in order["items"] if order else []:
        if item["item_id"] in (args.get("item_ids") or []) and not _said(text, item_words(item)):
            missing.append(f"item {item_words(item)}")
    for _, _, _, new in _swaps_of(action, order, db):
        missing += [f"option {k}: {v}" for k, v in new["options"].items() if not _mentions(text, v)]
    method = user["payment_methods"].get(str(args.get("payment_method_id")))
    if method is not None and not _said(text, method_words(method).removeprefix("your ")):
        missing.append(f"payment method {args['payment_method_id']}")
    if "reason" in args and not _said(text, CANCEL_WORDS.get(str(args["reason"]), "?")):
        missing.append(f"reason {args['reason']}")
    fields = [str(args[k]) for k in _ADDRESS_FIELDS if args.get(k)]
    if "address1" in args and not all(_said(text, value) for value in fields):
        missing.append("the new address")
    return missing


def arguments_said(task: Task, toolkit_cls: type[Toolkit], db: Database) -> list[str]:
    """Reasons why a templated scenario does not say the gold writes' arguments (items, new
    variants' options, payment method, reason, address); and a vague variant description must
    leave at most one clarifying question."""
    text, problems = scenario_text(task), []
    user_id = _target_user(task, toolkit_cls, db)
    user = db.tables["users"].get(user_id or "")
    said = getattr(_kit(db), "write_problems", _write_problems)
    for action in task.gold_actions():
        spec = toolkit_cls.specs.get(action.name)
        if spec is None or not spec.mutates or user is None:
            continue
        missing = said(text, action, _record_of(action.arguments, db), user, db)
        if missing:
            problems.append(
                f"{action.name} ({action.action_id}): the scenario does not say {missing}"
            )
    questions = clarifying_questions(task, db)
    if questions > 1:
        problems.append(f"{questions} vague variant descriptions: more than one question to ask")
    return problems


def targets_identified(task: Task, toolkit_cls: type[Toolkit], db: Database) -> list[str]:
    """Reasons why the scenario does not determine the gold writes' targets (empty: it does)."""
    user_id = _target_user(task, toolkit_cls, db)
    if user_id is None:
        return [] if not _writes(task, toolkit_cls) else ["gold writes touch no known user"]
    user = db.tables["users"][user_id]
    text = scenario_text(task)
    given = getattr(_kit(db), "identity_given", identity_resolves)
    problems = [] if given(text, user) else [f"identity of {user_id} not given"]
    table, key = record_key(db)
    targets: dict[str, set[str]] = {}
    for action in task.gold_actions():
        spec = toolkit_cls.specs.get(action.name)
        if spec is not None and spec.mutates and action.arguments.get(key):
            targets.setdefault(action.name, set()).add(str(action.arguments[key]))
    for tool, records in sorted(targets.items()):
        if not _order_identified(text, tool, records, user, db):
            problems.append(
                f"{table} {sorted(records)} of {tool} are not determined by the scenario"
            )
    return problems + (arguments_said(task, toolkit_cls, db) if verbatim(task) else [])


class AgreementChecker(Protocol):
    """Checks that an LLM-written scenario asks for what the gold actions do."""

    def check(self, task: Task, db: Database) -> dict[str, Any]:
        """A record with at least ``agree`` (bool), ``explanation`` and ``key`` (see
        :func:`agreement_key`); stored in the certificate under ``llm_agreement``."""
        ...


def agreement_key(task: Task) -> str:
    """Content key of what an agreement check judged: the scenario and the gold actions."""
    from taskforge.warehouse.keys import content_key

    gold = [(a.name, a.arguments) for a in task.gold_actions()]
    return content_key("agree", task.user_scenario.model_dump(mode="json"), gold)


def llm_written(task: Task) -> bool:
    """Whether an LLM wrote the task's words (its lineage names an LLM writer first)."""
    generator = (task.lineage.generator if task.lineage else None) or ""
    return generator.startswith("llm-writer")


def _agreement(task: Task, db: Database, checker: AgreementChecker | None) -> dict[str, Any]:
    """The LLM agreement record of an LLM-written task: a new check, or the stored one when
    it judged this very scenario and gold (so a stored file re-verifies offline)."""
    if checker is not None:
        return checker.check(task, db)
    stored = (task.certificate.checks if task.certificate else {}).get("llm_agreement")
    if isinstance(stored, dict) and stored.get("key") == agreement_key(task):
        return stored
    return {"agree": False, "explanation": "not checked: the scenario or gold changed since"}


def verify_tasks(
    tasks: Iterable[Task],
    toolkit_cls: type[Toolkit],
    db: Database,
    agreement: AgreementChecker | None = None,
) -> list[Verdict]:
    """:func:`verify_task` on every task, with one evaluator."""
    evaluator = Evaluator(toolkit_cls, db)
    return [verify_task(t, toolkit_cls, db, evaluator, agreement) for t in tasks]


def verify_task(
    task: Task,
    toolkit_cls: type[Toolkit],
    db: Database,
    evaluator: Evaluator | None = None,
    agreement: AgreementChecker | None = None,
) -> Verdict:
    """Run every check; accept the task only if all pass.

    Args:
        task: The candidate.
        toolkit_cls: The domain's toolkit.
        db: The task's DB.
        evaluator: An evaluator on ``db`` (made when not given).
        agreement: The LLM check of LLM-written scenarios; without it, an LLM-written task
            must carry a stored check of its current scenario and gold.
    """
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
    checks: dict[str, Any] = {}
    if llm_written(task):
        checks["llm_agreement"] = _agreement(task, db, agreement)
        if not checks["llm_agreement"].get("agree"):
            why = checks["llm_agreement"].get("explanation", "")
            reasons.append(f"the LLM check finds scenario and gold actions disagree: {why}")
    certificate = Certificate(
        gold_replay_ok=not audit.gold_errors,
        state_changed=audit.db_changed,
        noop_reward=noop,
        targets_identified=not identity,
        db_hash=db.hash,
        db_source=str(Path(db.source).resolve()) if db.source else None,
        gold_end_hash=evaluator.gold(task).hash,
        checks={
            "gold_reward": gold,
            "information_only": info_only,
            "clarifying_questions": clarifying_questions(task, db),
            **checks,
            "reasons": reasons,
        },
        verifier_version=VERIFIER_VERSION,
    )
    return Verdict(task.id, not reasons, reasons, certificate if not reasons else None)


__all__ = [
    "VERIFIER_VERSION",
    "AgreementChecker",
    "Verdict",
    "agreement_key",
    "arguments_said",
    "clarifying_questions",
    "identity_resolves",
    "llm_written",
    "record_key",
    "targets_identified",
    "verbatim",
    "verify_task",
    "verify_tasks",
]
