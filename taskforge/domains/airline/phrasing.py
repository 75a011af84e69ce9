"""Airline's wording of one request for the template writer, and its families' wrappings.

Every request names its reservation by id and states each value the write takes as it is (the
flight numbers and dates, the cabin, the bag counts, the passenger's name and date of birth,
the payment method's id), so that the verifier finds each of them in the scenario.
"""

from __future__ import annotations

import random

from taskforge.domains.airline.facts import CABIN_WORDS
from taskforge.synthesis.blueprints import Request

REASON_WORDS = {
    "change of plan": "your plans have changed",
    "health": "of a health problem, which your travel insurance covers",
}
"""A cancellation reason (the blueprint's) in the user's words."""

WRAPS: dict[str, tuple[str, ...]] = {
    "flight_change": (
        "You want to {ask}.",
        "Your travel dates moved, and you want to {ask}.",
        "You are calling because you want to {ask}. The exact flight and date matter to you.",
    ),
    "cabin_change": (
        "You want to {ask}.",
        "You are calling because you want to {ask}.",
    ),
    "baggage_update": (
        "You want to {ask}.",
        "You are packing for your trip and want to {ask}.",
    ),
    "payment_choice": (
        "You want to {ask}.",
        "You are calling because you want to {ask}.",
    ),
    "passenger_update": (
        "You want to {ask}.",
        "One of your travellers cannot come, and you want to {ask}.",
    ),
    "unconfirmed_change": (
        "You want to {ask}.",
        "You are calling because you want to {ask}.",
    ),
    "cancellation": (
        "You want to {ask}.",
        "You can no longer travel and want to {ask}.",
    ),
}
ENDINGS: dict[str, tuple[str, ...]] = {
    "flight_change": (
        "Confirm with 'yes' only when the agent names exactly that flight on that date, then "
        "end the conversation.",
    ),
    "cabin_change": (
        "Confirm with 'yes' only when the agent names exactly that cabin, then end the "
        "conversation.",
    ),
    "baggage_update": (
        "Confirm with 'yes' only when the agent states exactly those bag counts, then end the "
        "conversation.",
    ),
    "payment_choice": (
        "The change must be charged to the payment method you named, never to a travel "
        "certificate. Confirm with 'yes' only when the details are right, then end the "
        "conversation.",
    ),
    "passenger_update": (
        "Confirm with 'yes' only when the agent names the right passenger to replace and the "
        "new passenger's details, then end the conversation.",
    ),
    "unconfirmed_change": (
        "The charge must go to the payment method you named. If the agent makes the change "
        "without listing the details first, object. Confirm with 'yes' only when the details "
        "are right, then end the conversation.",
    ),
    "cancellation": (
        "Make sure the reservation is really cancelled before you end the conversation; "
        "confirm with 'yes' when the agent asks.",
    ),
}
PURPOSES: dict[str, str] = {
    "flight_change": "Move the reservation to exactly the flight and date the user asks for.",
    "cabin_change": "Change the reservation to exactly the cabin the user asks for.",
    "baggage_update": "Set exactly the bag counts the user asks for, the fee paid as they say.",
    "payment_choice": "Charge the change to the method the user names, not a certificate.",
    "passenger_update": "Replace exactly the passenger the user names.",
    "unconfirmed_change": "Confirm before a paying change; charge the method the user names.",
    "cancellation": "Really cancel the reservation the user may cancel.",
}


def _pay(request: Request, verb: str) -> str:
    text = f", {verb} {request.payment}"
    return text + (f", not {request.original_payment}" if request.original_payment else "")


def ask(request: Request, ref: str, rng: random.Random) -> str:
    """One request as a verb phrase ('move ...', 'cancel ...'); the reservation is named by
    id (``ref`` is the writer's reference, unused: Airline users give the id)."""
    rid, facts = request.order_id, request.facts
    if request.tool == "cancel_reservation":
        return f"cancel reservation {rid}, because {REASON_WORDS.get(request.reason or '', '')}"
    if request.tool == "update_reservation_baggages":
        bags = "bag" if facts["added"] == 1 else "bags"
        return (
            f"add {facts['added']} checked {bags} to reservation {rid}, for {facts['total']} "
            f"checked bags in total, {facts['paid']} of them paid"
            + _pay(request, f"the ${facts['fee']} fee charged to")
        )
    if request.tool == "update_reservation_passengers":
        new = facts["new"]
        return (
            f"replace passenger {facts['old']} on reservation {rid} with "
            f"{new['first_name']} {new['last_name']}, born {new['dob']}"
        )
    if facts.get("new_flights"):
        moves = "; and ".join(
            f"from flight {a} on {d} to flight {b} on {e}"
            for (a, d), (b, e) in zip(facts["old_flights"], facts["new_flights"], strict=False)
        )
        cabin = CABIN_WORDS[facts["cabin"]]
        return f"move reservation {rid} {moves}, staying in {cabin}" + _pay(
            request, rng.choice(("paying any difference with", "settling the fare difference with"))
        )
    old, new = CABIN_WORDS[facts["old_cabin"]], CABIN_WORDS[facts["cabin"]]
    return f"change the cabin of reservation {rid} from {old} to {new} on all its flights" + _pay(
        request, "paying the difference with"
    )


__all__ = ["ENDINGS", "PURPOSES", "REASON_WORDS", "WRAPS", "ask"]
