"""A scripted user: plays a task from structured :class:`~taskforge.domains.retail.facts.UserFacts`.

It is an honest, named simulation, not a model. It reads the dialogue in the agent's view
(role ``assistant`` = the agent's words, ``user`` = its own earlier words; other roles and tool
calls are ignored) and answers the agent's last text message. It is stateless: where it stands
is recomputed from the dialogue, so it survives resumption.

Protocol (shared with :mod:`taskforge.domains.retail.scripted_policy`):

* the first turn states the first request, with identity information on some seeds (and,
  when the facts say so, how many requests there are: :data:`ANNOUNCE_MARK`);
* an agent message asking for an ``email`` or ``zip code`` gets the identity (email, or name and
  zip when the agent asks for those);
* a message containing ``(yes/no)`` is a confirmation: ``yes`` when it names every detail of the
  current request (order id, items with their options, new options, address, reason, payment
  method), else ``no`` with the correction;
* a message containing :data:`CLARIFY_MARK` asks which variant the user means: the answer gives
  every option of the new variant of the product it names;
* a message containing :data:`DONE_PHRASE` closes the current request: the user moves to the next
  request, or thanks the agent and ends with ``###STOP###`` after the last;
* a message about a transfer gets ``###TRANSFER###``;
* anything else gets the current request restated; after :data:`MAX_LOST_TURNS` agent turns
  without progress the user ends with ``###STOP###``.
"""

from __future__ import annotations

import random
from typing import Any

from taskforge.domains.retail.facts import (
    INFO_KIND,
    SWAP_KINDS,
    Request,
    UserFacts,
    format_address,
    format_options,
)
from taskforge.rollout.signals import STOP, TRANSFER

DONE_PHRASE = "Is there anything else I can help you with?"
CONFIRM_MARK = "(yes/no)"
CLARIFY_MARK = "Which one would you like?"
ANNOUNCE_MARK = "things to sort out today"
MAX_LOST_TURNS = 8

_GREETINGS = ("Hi!", "Hello.", "Hi there.", "Good day.")
_THANKS = ("Thanks, that's all I needed.", "Great, thank you. That's everything.")
_YES = ("yes", "Yes, please go ahead.", "yes, that's correct")


class ScriptedUser:
    """A rule-based user simulator for one task.

    Args:
        facts: What the user knows and wants.
        seed: Seed of the phrasing variants (a turn's variant depends on seed and turn index).
    """

    def __init__(self, facts: UserFacts, seed: int = 0) -> None:
        self.facts = facts
        self.seed = seed
        self.email_first = random.Random(f"{seed}:identity").random() < 0.5

    def respond(self, messages: list[dict[str, Any]]) -> str:
        """The user's next message given the dialogue so far (agent view, see module doc)."""
        spoken = [
            m for m in messages if m.get("role") in ("user", "assistant") and m.get("content")
        ]
        rng = random.Random(f"{self.seed}:{len(spoken)}")
        if not any(m["role"] == "user" for m in spoken):
            return self._opening(rng)
        agent = [m for m in spoken if m["role"] == "assistant"]
        text = str(agent[-1]["content"]) if agent else ""
        index = sum(1 for m in agent if DONE_PHRASE in str(m["content"]))
        if index >= len(self.facts.requests):
            return f"{rng.choice(_THANKS)} {STOP}"
        request = self.facts.requests[index]
        if DONE_PHRASE in text:
            return request_text(request, rng)
        if "transfer" in text.lower():
            return TRANSFER
        if _turns_since_progress(agent) > MAX_LOST_TURNS:
            return f"This isn't going anywhere, I'll call back later. {STOP}"
        return self._answer(text, request, rng, spoken)

    def _next_identity_is_email(self, spoken: list[dict[str, Any]]) -> bool:
        """Identity forms alternate, starting from the seed's preferred one."""
        given = sum(
            1
            for m in spoken
            if m["role"] == "user"
            and ("My email is" in m["content"] or "My name is" in m["content"])
        )
        return self.email_first == (given % 2 == 0)

    def _opening(self, rng: random.Random) -> str:
        first = request_text(self.facts.requests[0], rng) if self.facts.requests else ""
        if self.facts.announced:
            first = f"I have {len(self.facts.requests)} {ANNOUNCE_MARK}. First: {first}"
        greeting = rng.choice(_GREETINGS)
        if rng.random() < 0.5:
            return f"{greeting} {self._identity(by_email=self.email_first)} {first}"
        return f"{greeting} {first}"

    def _identity(self, by_email: bool) -> str:
        who = self.facts.identity
        if who is None:
            return "I'm afraid I don't remember my account details."
        if by_email:
            return f"My email is {who.email}."
        return f"My name is {who.first_name} {who.last_name} and my zip code is {who.zip}."

    def _answer(
        self, text: str, request: Request, rng: random.Random, spoken: list[dict[str, Any]]
    ) -> str:
        lowered = text.lower()
        if CONFIRM_MARK in text:
            return self._confirm(text, request, rng)
        if CLARIFY_MARK in text:
            return clarification(text, request)
        if "zip code" in lowered or "email" in lowered:
            return self._identity(by_email=self._next_identity_is_email(spoken))
        return f"Sorry, let me repeat. {request_text(request, rng)}"

    def _confirm(self, text: str, request: Request, rng: random.Random) -> str:
        missing = [f for f in expected_details(request) if f.lower() not in text.lower()]
        if missing:
            return f"No, that's not what I asked for. {request_text(request, rng)}"
        payment = request.payment
        if payment is not None and payment.description not in text:
            return f"No, please use my {payment.description} instead."
        return rng.choice(_YES)


def _turns_since_progress(agent: list[dict[str, Any]]) -> int:
    count = 0
    for message in reversed(agent):
        if DONE_PHRASE in str(message["content"]):
            break
        count += 1
    return count


def clarification(text: str, request: Request) -> str:
    """Every option of the new variant of the item the agent asks about."""
    lowered = text.lower()
    for item in request.items:
        if item.product.lower() in lowered and item.target_options:
            return (
                f"For the {item.product}, I want the one with "
                f"({format_options(item.target_options)})."
            )
    return f"Sorry, let me repeat. {request_text(request, random.Random(0))}"


def expected_details(request: Request) -> list[str]:
    """Fragments a confirmation of ``request`` must contain (payment is checked apart).

    A user who does not know the order id (``order_hint``) cannot check it.
    """
    out = [request.order_id] if request.order_id and not request.order_hint else []
    for item in request.items:
        out.append(f"{item.product} ({format_options(item.options)})")
        if request.kind in SWAP_KINDS and item.target_options is not None:
            out.append(f"({format_options(item.target_options)})")
    if request.address is not None:
        out.append(format_address(request.address))
    if request.reason:
        out.append(request.reason)
    return out


def request_text(request: Request, rng: random.Random) -> str:
    """The user's words for a request (phrasing varies with ``rng``, the key parts do not)."""
    kind = request.kind
    pending, delivered = order_words(request, "pending"), order_words(request, "delivered")
    if kind == "cancel_pending_order":
        mistake = request.reason == "ordered by mistake"
        why = "I ordered it by mistake" if mistake else "it's no longer needed"
        return f"I'd like to cancel {pending}, because {why}."
    if kind == "return_delivered_order_items":
        things = " and ".join(i.describe() for i in request.items)
        lead = rng.choice(("I want to return", "I'd like to return"))
        return f"{lead} {things} from {delivered}."
    if kind in SWAP_KINDS:
        return _swap_text(request, rng)
    if kind == "modify_pending_order_address":
        addr = format_address(request.address or {})
        return f"Please change the shipping address of {pending} to {addr}."
    if kind == "modify_user_address":
        addr = format_address(request.address or {})
        return f"Please update the default address on my account to {addr}."
    if kind == "modify_pending_order_payment":
        desc = request.payment.description if request.payment else "other payment method"
        return f"I'd like to switch the payment method of {pending} to my {desc}."
    return _info_text(request)


def order_words(request: Request, status: str) -> str:
    """``my pending order #W1`` or, without the id, ``my pending order with the Vase in it``."""
    if request.order_hint:
        return f"my {status} order with the {request.order_hint} in it"
    return f"my {status} order {request.order_id or ''}"


def _swap_text(request: Request, rng: random.Random) -> str:
    pairs = " and ".join(
        f"{i.describe()} for the variant with "
        f"({format_options(i.stated_options or i.target_options or {})})"
        for i in request.items
    )
    pay = ""
    if request.payment_stated and request.payment is not None:
        pay = f" I'd like to pay the difference with my {request.payment.description}."
    if request.kind == "exchange_delivered_order_items":
        lead = rng.choice(("I want to exchange", "I'd like to exchange"))
        return f"{lead} {pairs} from {order_words(request, 'delivered')}.{pay}"
    lead = rng.choice(("I want to change", "I'd like to change"))
    return f"{lead} {pairs} in {order_words(request, 'pending')}.{pay}"


def _info_text(request: Request) -> str:
    if request.kind == INFO_KIND and request.topic == "order_total":
        return f"How much did I pay in total for my order {request.order_id}?"
    if request.topic == "gift_card_balance":
        return "What is the current balance of my gift card?"
    return "Could you tell me the status of my orders?"
