"""The LLM writer: a blueprint becomes a scenario written by the ``writer`` role.

The prompt (``prompts/writer.md``, the project's own words) gives the model the customer, the
requests as facts (records in words, never ids other than order ids) and the difficulty to put
into the wording; the answer is a JSON object with the four fields of tau2's structured user
instructions, parsed into :class:`~taskforge.contracts.StructuredUserInstructions`. The gold
actions, lineage and pattern come from the blueprint, as with the template writer; the task's
lineage names this writer (``llm-writer-v2``) so the verifier also runs its LLM agreement
check on it.

The model's ``known_info`` is opened with the blueprint's facts in the template writer's words
(:func:`~taskforge.synthesis.writer.blueprint_facts`: every request, the customer's identity):
the model writes why the customer calls, what else they know and how they behave, and the
records the gold actions need are stated whatever it wrote. A 135M model (the local demo's)
left the identity out of 2 of 4 scenarios, which verification then rejected. The task's notes
say so (``known_info: blueprint facts``).

The difficulty statements the offline scripted user reacts to (see
:mod:`taskforge.domains.retail.facts`) are asked for in plain words: that the customer does
not know the order ids, to describe a new variant only by what changes, that the price
difference goes to the named method rather than the original one.
"""

from __future__ import annotations

from pathlib import Path
from string import Template
from typing import Any

from taskforge.contracts import StructuredUserInstructions, Task
from taskforge.llm.client import LLMClient
from taskforge.synthesis.blueprints import Blueprint, Request
from taskforge.synthesis.grounding import CANCEL_WORDS
from taskforge.synthesis.llm import ask_json, text_field
from taskforge.synthesis.writer import assemble_task, blueprint_facts, config_hash

LLM_WRITER = "llm-writer-v2"
"""Name of this writer in the tasks' lineage (bump it when the prompt changes)."""
FACTS_NOTE = "known_info: blueprint facts"
"""Appended to a written task's notes: its known_info opens with the blueprint's facts."""
PROMPT_PATH = Path(__file__).resolve().parent / "prompts" / "writer.md"

DIFFICULTY: dict[str, str] = {
    "multi_order": (
        "The customer has several orders that the change could apply to, and some of them "
        "contain the same product. The customer does not know any order id: refer to the order "
        "only through the product given above that singles it out, and say in unknown_info that "
        "the customer does not remember their order ids."
    ),
    "variant_selection": (
        "The new variant is close to another available one. The customer states only the "
        "options that change (given above as 'options said at first'); the options that stay "
        "as on the current item go into known_info, to be given only if the agent asks. "
        "task_instructions must tell the customer to describe the new variant only by what "
        "changes and to give its other options only if the agent asks."
    ),
    "multi_write": (
        "The customer has several requests in one call. task_instructions must tell the "
        "customer to make sure every request is handled before ending, and to remind the agent "
        "of what is left if it stops early."
    ),
    "payment_difference": (
        "The swap costs more than the item it replaces. The customer insists that the price "
        "difference is paid with the method named above rather than with the order's original "
        "method; say so in reason_for_call with the word 'difference' and 'rather than'."
    ),
}
"""What each built-in family asks the writer to put into the words."""


def render_identity(bp: Blueprint) -> str:
    """Who the customer is and how they prove it."""
    ident = bp.identity
    name = f"{ident.first_name} {ident.last_name}"
    if ident.email:
        return f"Name: {name}. Identifies with the email address {ident.email}."
    return f"Name: {name}. Identifies with name and zip code {ident.zip}."


def render_request(request: Request) -> str:
    """One request as facts for the writer."""
    if request.order_hint:
        order = f"the {request.status} order containing the {request.order_hint} (id unknown)"
    else:
        order = f"order {request.order_id} ({request.status})"
    facts = [f"tool {request.tool} on {order}"]
    if request.reason:
        facts.append(f"reason: because the customer {CANCEL_WORDS.get(request.reason, '')}")
    if request.address:
        facts.append(f"new address: {request.address}")
    if request.items:
        facts.append(f"items: {'; '.join(request.items)}")
    for i, said in enumerate(request.new_options):
        kept = request.kept_options[i] if i < len(request.kept_options) else ""
        facts.append(f"new variant of item {i + 1}: options said at first: {said}")
        if kept:
            facts.append(f"options that stay as on item {i + 1} (say only if asked): {kept}")
    if request.payment:
        facts.append(f"payment method: {request.payment}")
    if request.original_payment:
        facts.append(f"the order's original payment method: {request.original_payment}")
    return "; ".join(facts)


def render_prompt(bp: Blueprint, template: str | None = None) -> str:
    """The writer's prompt for one blueprint."""
    text = template if template is not None else PROMPT_PATH.read_text(encoding="utf-8")
    requests = "\n".join(f"{i + 1}. {render_request(r)}" for i, r in enumerate(bp.requests))
    difficulty = DIFFICULTY.get(bp.family, f"The failure pattern to provoke: {bp.pattern}.")
    return Template(text).substitute(
        identity=render_identity(bp), requests=requests, difficulty=difficulty
    )


SCENARIO_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "reason_for_call": {"type": "string", "minLength": 10, "maxLength": 160},
        "known_info": {"type": "string", "maxLength": 160},
        "unknown_info": {"type": "string", "maxLength": 100},
        "task_instructions": {"type": "string", "minLength": 10, "maxLength": 240},
    },
    "required": ["reason_for_call", "known_info", "unknown_info", "task_instructions"],
    "additionalProperties": False,
}
"""The writer's answer as a JSON schema a server can enforce (``json_schema: true``): 660
characters at most (~180 tokens), so an answer that runs to every limit still closes within
the local config's 320 tokens."""


def parse_instructions(data: dict[str, Any]) -> StructuredUserInstructions:
    """The writer's JSON answer as structured user instructions (ValueError when invalid)."""
    return StructuredUserInstructions(
        domain="retail",
        reason_for_call=text_field(data, "reason_for_call"),
        known_info=text_field(data, "known_info", required=False) or None,
        unknown_info=text_field(data, "unknown_info", required=False) or None,
        task_instructions=text_field(data, "task_instructions"),
    )


class LLMWriter:
    """Writes tasks from blueprints with the ``writer`` LLM role.

    Args:
        client: The writer role's client (any LiteLLM model).
        seed: Sampling seed of the calls (makes them cacheable).
        json_mode: Ask for ``response_format={"type": "json_object"}``.
    """

    name = LLM_WRITER

    def __init__(self, client: LLMClient, seed: int = 0, json_mode: bool = True) -> None:
        from taskforge.mining.judge import json_client

        self.client = json_client(client, SCENARIO_SCHEMA) if json_mode else client
        self.model = client.role.model
        self.seed = seed
        self.template = PROMPT_PATH.read_text(encoding="utf-8")

    def write(self, bp: Blueprint, task_id: str) -> Task:
        """Turn a blueprint into a targeted task.

        Raises:
            AnswerError: the model gave no usable scenario.
        """
        prompt = render_prompt(bp, self.template)
        written = ask_json(self.client, prompt, parse_instructions, self.seed)
        known = f"{blueprint_facts(bp, task_id, self.seed)} {written.known_info or ''}".strip()
        instructions = written.model_copy(update={"known_info": known})
        config = {"writer": LLM_WRITER, "model": self.model, "seed": self.seed}
        task = assemble_task(bp, task_id, instructions, self.name, config_hash(config, bp))
        assert task.description is not None  # assemble_task always describes the task
        task.description.notes = f"{task.description.notes}; {FACTS_NOTE}"
        return task


__all__ = [
    "DIFFICULTY",
    "FACTS_NOTE",
    "LLM_WRITER",
    "SCENARIO_SCHEMA",
    "LLMWriter",
    "parse_instructions",
    "render_prompt",
]
