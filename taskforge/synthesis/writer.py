"""The template writer: a blueprint becomes a tau2-style task with its difficulty in the wording.

Offline and deterministic: each family has several phrasings, chosen by an RNG seeded with the
writer's seed and the task id (so a task's wording does not depend on the order of writing).
Items are described by product name and options, never by item id; an order targeted by the
``multi_order`` family is described only by a product it contains. A domain's synthesis kit
may bring its own families' wordings (``WRAPS``, ``ENDINGS``, ``PURPOSES``: see
:class:`~taskforge.domains.protocols.SynthesisKit`); these are Retail's.
"""

from __future__ import annotations

import hashlib
import json
import random
from typing import Any

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
from taskforge.domains import get_domain
from taskforge.synthesis.blueprints import Blueprint, Request

WRITER = "template-writer-v1"
"""Name of this writer in the tasks' lineage."""

_REFS_BY_PRODUCT = (
    "your recent {status} order, the one with the {hint}",
    "the {status} order that has the {hint} in it",
    "your {status} order containing the {hint}",
)
_REFS_BY_ID = ("order {oid}", "your {status} order {oid}", "the order with id {oid}")
_WRAPS: dict[str, tuple[str, ...]] = {
    "multi_order": (
        "You want to {ask}. You have more than one {status} order and do not know their ids.",
        "You placed a few orders lately, and now you want to {ask}.",
        "You are calling because you want to {ask}; you only remember what was in that order.",
    ),
    "variant_selection": (
        "You want to {ask}.",
        "You are calling because you want to {ask}. The exact variant matters to you.",
        "You picked the wrong variant and want to {ask}.",
    ),
    "multi_write": (
        "You have several things to sort out in one call: {asks}.",
        "You want to {first}, and you also want to {rest}.",
        "You are calling with more than one request. First, {asks}.",
    ),
    "payment_difference": (
        "You want to {ask}.",
        "You are calling because you want to {ask}.",
        "You changed your mind about an item and want to {ask}.",
    ),
}
_ENDINGS: dict[str, tuple[str, ...]] = {
    "multi_order": (
        "If the agent asks which order, describe it by the product it contains. Confirm with "
        "'yes' only when the agent names the right order, then end the conversation.",
    ),
    "variant_selection": (
        "Describe the new variant only by what changes; give its other options only if the "
        "agent asks. Confirm with 'yes' only when the agent lists exactly that variant, then "
        "end the conversation.",
    ),
    "multi_write": (
        "Make sure every one of your requests is handled before you end the conversation; if "
        "the agent stops early, remind it of what is left. Confirm each change with 'yes'.",
    ),
    "payment_difference": (
        "The price difference must go to the payment method you named. If the agent proposes "
        "another method, or makes the change without listing the details, object. Confirm "
        "with 'yes' only when the details are right, then end the conversation.",
    ),
}
_DEFAULT_ENDING = (
    "Answer the agent's questions with what you know, confirm with 'yes' when the agent lists "
    "exactly what you asked for, and end the conversation once it is done."
)
PURPOSES = {
    "multi_order": "Act on the one order, among several candidates, that the user describes.",
    "variant_selection": "Swap to the exact variant the user describes, not a near-identical one.",
    "multi_write": "Carry out every one of several writes the user asks for.",
    "payment_difference": "Settle the price difference with the method the user names.",
}


class TemplateWriter:
    """Writes tasks from blueprints with templates (several phrasings per family)."""

    name = WRITER

    def __init__(self, seed: int = 0) -> None:
        """Create a writer.

        Args:
            seed: Seed of the phrasing choices; same seed and task id, same wording.
        """
        self.seed = seed

    def write(self, bp: Blueprint, task_id: str) -> Task:
        """Turn a blueprint into a targeted task.

        Args:
            bp: The blueprint.
            task_id: Id of the task; gold action ids are ``f"{task_id}_{i}"``.

        Returns:
            The task (origin 'targeted', the family's pattern, lineage of this writer).
        """
        rng = random.Random(f"{WRITER}:{self.seed}:{task_id}")
        instructions = StructuredUserInstructions(
            domain=bp.domain,
            reason_for_call=_reason(bp, rng),
            known_info=_known(bp),
            unknown_info=_unknown(bp),
            task_instructions=rng.choice(_wording(bp, "ENDINGS", _ENDINGS, (_DEFAULT_ENDING,))),
        )
        return assemble_task(bp, task_id, instructions, self.name, self._config_hash(bp))

    def _config_hash(self, bp: Blueprint) -> str:
        return config_hash({"writer": WRITER, "seed": self.seed, "family": bp.family}, bp)


def blueprint_facts(bp: Blueprint, task_id: str, seed: int = 0) -> str:
    """The scenario's facts in this writer's words (the same as its task ``task_id`` with
    ``seed``): every request, then who the customer is and what they keep for when asked."""
    rng = random.Random(f"{WRITER}:{seed}:{task_id}")
    return f"{_reason(bp, rng)} {_known(bp)}"


def _wording(bp: Blueprint, name: str, default: dict[str, Any], fallback: Any) -> Any:
    """The family's entry of the kit's table ``name`` (WRAPS, ENDINGS, PURPOSES), else of this
    writer's ``default``, else ``fallback``."""
    own = getattr(get_domain(bp.domain).synthesis_kit(), name, None) if bp.domain else None
    table = default if own is None else own
    return table.get(bp.family, fallback)


def _reason(bp: Blueprint, rng: random.Random) -> str:
    """What the customer asks for, every request in order, in one of the family's wordings."""
    kit = get_domain(bp.domain).synthesis_kit()
    asks = [kit.ask(r, _ref(r, rng), rng) for r in bp.requests]
    wraps = _wording(bp, "WRAPS", _WRAPS, ("You want to {asks}.",))
    wrap = rng.choice(wraps)
    status = bp.requests[0].status if bp.requests else ""
    return wrap.format(
        ask=asks[0] if asks else "",
        asks="; then ".join(asks),
        first=asks[0] if asks else "",
        rest="; and also ".join(asks[1:]),
        status=status,
    )


def config_hash(config: dict[str, object], bp: Blueprint) -> str:
    """Short hash of a writer's config and the blueprint's knobs (the tasks' lineage)."""
    data = {**config, "knobs": bp.knobs}
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


def assemble_task(
    bp: Blueprint,
    task_id: str,
    instructions: StructuredUserInstructions,
    generator: str,
    config: str,
) -> Task:
    """A targeted task: the scenario written for ``bp``, its gold actions and its lineage.

    Args:
        bp: The blueprint.
        task_id: Id of the task; gold action ids are ``f"{task_id}_{i}"``.
        instructions: The scenario's words.
        generator: The writer's name (plus ``+<explorer>`` for explored blueprints).
        config: Hash of the writer's config (see :func:`config_hash`).
    """
    criteria = EvaluationCriteria(
        actions=[
            Action(action_id=f"{task_id}_{i}", name=name, arguments=dict(args))
            for i, (name, args) in enumerate(bp.actions)
        ],
        communicate_info=[],
        reward_basis=[RewardType.DB, RewardType.COMMUNICATE],
    )
    source = bp.knobs.get("source")
    return Task(
        id=task_id,
        description=Description(purpose=_wording(bp, "PURPOSES", PURPOSES, None), notes=_notes(bp)),
        user_scenario=UserScenario(instructions=instructions),
        evaluation_criteria=criteria,
        origin="targeted",
        pattern=bp.pattern,
        lineage=Lineage(
            generator=f"{generator}+{source}" if source else generator,
            round=None,
            config_hash=config,
        ),
    )


def _known(bp: Blueprint) -> str:
    ident = bp.identity
    name = f"{ident.first_name} {ident.last_name}"
    if ident.user_id:
        known = f"You are {name} and your user id is {ident.user_id}."
    elif ident.email:
        known = f"You are {name} and your email address is {ident.email}."
    else:
        known = f"You are {name} and your zip code is {ident.zip}."
    for request in bp.requests:
        for item, kept in zip(request.items, request.kept_options, strict=False):
            if kept:
                product = item.split(" (", 1)[0]
                known += f" The new {product} should keep the {kept} of the one you have."
    return known


def _unknown(bp: Blueprint) -> str:
    what = "your user id" if bp.identity.email and not bp.identity.user_id else "your email address"
    if any(r.order_hint for r in bp.requests):
        what += " or any order id"
    return f"You do not remember {what}."


def _notes(bp: Blueprint) -> str:
    knobs = ", ".join(f"{k}={v}" for k, v in sorted(bp.knobs.items()))
    return f"family={bp.family}; {knobs}"


def _ref(request: Request, rng: random.Random) -> str:
    """How the user refers to the order: by a product it contains, or by its id."""
    template = rng.choice(_REFS_BY_PRODUCT if request.order_hint else _REFS_BY_ID)
    return template.format(status=request.status, hint=request.order_hint, oid=request.order_id)


__all__ = [
    "PURPOSES",
    "WRITER",
    "TemplateWriter",
    "assemble_task",
    "blueprint_facts",
    "config_hash",
]
