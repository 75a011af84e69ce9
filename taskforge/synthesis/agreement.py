"""The LLM agreement check: does an LLM-written scenario ask for what the gold actions do?

The verifier's own checks on words are lexical (ids, names and option values found in the
text); an LLM writer can pass them and still ask for something else ("return the lamp" where
the gold exchanges it). This check shows an LLM the scenario and the gold writes with the
records they touch (``prompts/agreement.md``) and asks for ``{"agree": bool,
"explanation": str}``. The record stored in the certificate carries the model and a content
key of the scenario and gold actions, so a stored task re-verifies without an LLM as long as
neither changed (see :func:`taskforge.synthesis.verify.verify_task`).
"""

from __future__ import annotations

import json
from pathlib import Path
from string import Template
from typing import Any

from taskforge.contracts import Task
from taskforge.domains import domain_of
from taskforge.env.db import Database, Record
from taskforge.llm.client import LLMClient
from taskforge.rollout.prompts import scenario_text
from taskforge.synthesis.grounding import item_words, method_words
from taskforge.synthesis.llm import AnswerError, ask_json, text_field
from taskforge.synthesis.verify import agreement_key

PROMPT_PATH = Path(__file__).resolve().parent / "prompts" / "agreement.md"


def _variant(db: Database, item_id: str) -> str:
    for product in db.tables["products"].values():
        variant = product["variants"].get(item_id)
        if variant is not None:
            return f"{item_id} = {item_words({'name': product['name'], **variant})}"
    return f"{item_id} = (unknown item)"


def _method(db: Database, method_id: str) -> str:
    for user in db.tables["users"].values():
        method = user["payment_methods"].get(method_id)
        if method is not None:
            return f"{method_id} = {method_words(method)}"
    return f"{method_id} = (unknown method)"


def _order(order: Record) -> str:
    items = "; ".join(f"{i['item_id']} = {item_words(i)}" for i in order["items"])
    return f"order {order['order_id']} of {order['user_id']} ({order['status']}): {items}"


def render_gold(task: Task, db: Database) -> str:
    """The gold writes, each with the order, items, variants and payment methods it names."""
    specs = domain_of(db).toolkit_cls.specs
    lines = []
    for action in task.gold_actions():
        spec = specs.get(action.name)
        if spec is None or not spec.mutates:
            continue
        args = action.arguments
        lines.append(f"- {action.name}({json.dumps(args, sort_keys=True)})")
        order = db.tables["orders"].get(str(args.get("order_id")))
        if order is not None:
            lines.append(f"  {_order(order)}")
        for item_id in args.get("new_item_ids") or []:
            lines.append(f"  new {_variant(db, item_id)}")
        if args.get("payment_method_id"):
            lines.append(f"  payment {_method(db, str(args['payment_method_id']))}")
    return "\n".join(lines) or "(no change: the task only asks for information)"


AGREEMENT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "agree": {"type": "boolean"},
        "explanation": {"type": "string", "maxLength": 200},
    },
    "required": ["agree", "explanation"],
    "additionalProperties": False,
}
"""The check's answer as a JSON schema a server can enforce (``json_schema: true``)."""


def parse_agreement(data: dict[str, Any]) -> dict[str, Any]:
    """The check's JSON answer (ValueError when invalid)."""
    agree = data.get("agree")
    if not isinstance(agree, bool):
        raise ValueError("agree: expected true or false")
    return {"agree": agree, "explanation": text_field(data, "explanation", required=False)}


class AgreementCheck:
    """Checks LLM-written scenarios against their gold actions with an LLM role.

    Args:
        client: The checking role's client (the judge, or the writer).
        seed: Sampling seed of the calls.
        json_mode: Ask for ``response_format={"type": "json_object"}``.
    """

    def __init__(self, client: LLMClient, seed: int = 0, json_mode: bool = True) -> None:
        from taskforge.mining.judge import json_client

        self.client = json_client(client, AGREEMENT_SCHEMA) if json_mode else client
        self.model = client.role.model
        self.seed = seed
        self.template = PROMPT_PATH.read_text(encoding="utf-8")

    def check(self, task: Task, db: Database) -> dict[str, Any]:
        """The agreement record stored in the certificate (``agree`` False when the check
        itself fails: an unchecked LLM text is not accepted)."""
        prompt = Template(self.template).substitute(
            scenario=scenario_text(task), gold=render_gold(task, db)
        )
        try:
            verdict = ask_json(self.client, prompt, parse_agreement, self.seed)
        except AnswerError as exc:
            verdict = {"agree": False, "explanation": f"the check failed: {exc}"}
        return {**verdict, "model": self.model, "key": agreement_key(task)}


def agreement_check(config: Any, seed: int = 0) -> AgreementCheck | None:
    """The check of an LLM config: its judge role, else its writer role; None if both are
    offline."""
    from taskforge.synthesis.llm import synthesis_roles

    check: AgreementCheck | None = synthesis_roles(config, seed).agreement
    return check


__all__ = ["AgreementCheck", "agreement_check", "parse_agreement", "render_gold"]
