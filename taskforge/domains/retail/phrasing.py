"""Retail's wording of one request for the template writer (a verb phrase per write tool)."""

from __future__ import annotations

import random

from taskforge.synthesis.blueprints import Request
from taskforge.synthesis.grounding import CANCEL_WORDS


def _join(words: tuple[str, ...] | list[str]) -> str:
    items = list(words)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def ask(request: Request, ref: str, rng: random.Random) -> str:
    """One request as a verb phrase ('cancel ...', 'return ...'); ``ref`` names the order."""
    tool = request.tool
    if tool == "cancel_pending_order":
        return f"cancel {ref}, because you {CANCEL_WORDS[request.reason or '']}"
    if tool == "modify_pending_order_address":
        return f"have {ref} shipped to {request.address} instead"
    if tool == "modify_pending_order_payment":
        return f"pay for {ref} with {request.payment} instead of {request.original_payment}"
    if tool == "return_delivered_order_items":
        what = _join([f"the {i}" for i in request.items])
        return f"return {what} from {ref}, with the refund going to {request.payment}"
    return _swap_ask(request, ref, rng)


_SWAP_VERBS = {
    "exchange_delivered_order_items": ("exchange", "you received in"),
    "modify_pending_order_items": ("change", "in"),
}


def _swap_ask(request: Request, ref: str, rng: random.Random) -> str:
    """An item swap (exchange or pending modification) with the new variant in words."""
    verb, prep = _SWAP_VERBS[request.tool]
    pairs = [
        f"the {old} {prep} {ref} for the same product with {_variant_words(new, rng)}"
        + (" instead" if request.kept_options else "")
        for old, new in zip(request.items, request.new_options, strict=True)
    ]
    text = f"{verb} " + "; and ".join(pairs)
    if request.near_miss and not request.kept_options:
        text += f" (not the one with {_join(list(request.near_miss))})"
    if request.original_payment:
        return text + rng.choice(
            (
                f", paying the price difference with {request.payment}, not with "
                f"{request.original_payment}",
                f". You want the price difference charged to {request.payment} rather than "
                f"{request.original_payment}, which you used for the order",
                f"; the difference in price should be paid with {request.payment} instead of "
                f"{request.original_payment}",
            )
        )
    return text + f", settling any price difference with {request.payment}"


def _variant_words(options: str, rng: random.Random) -> str:
    """All options of a variant, phrased one of several ways."""
    pairs = [p.split(": ", 1) for p in options.split(", ")]
    style = rng.randrange(3)
    if style == 0:
        return options
    if style == 1:
        return _join([f"{v} {k}" for k, v in pairs])
    return _join([f"the {k} set to {v}" for k, v in pairs])


__all__ = ["ask"]
