"""A scripted Airline user: plays a seed task from its ``UserFacts`` (see ``facts``).

An honest, named simulation, not a model; stateless (recomputed from the dialogue, agent view).
Protocol (shared with :mod:`taskforge.domains.airline.scripted_policy`):

* the first turn states the request, with the user id on some seeds;
* an agent message asking for the ``user id`` gets it;
* a message containing :data:`CONFIRM_MARK` gets ``yes`` when it names every detail of the
  request (:func:`~taskforge.domains.airline.facts.expected_details`), else ``no`` and the
  request again;
* a message containing :data:`DONE_PHRASE` ends the conversation with ``###STOP###``;
* a message about a transfer gets ``###TRANSFER###``; anything else gets the request restated,
  and after :data:`MAX_LOST_TURNS` agent turns the user gives up with ``###STOP###``.
"""

from __future__ import annotations

import random
from typing import Any

from taskforge.domains.airline.facts import UserFacts, expected_details, request_text
from taskforge.rollout.signals import STOP, TRANSFER

DONE_PHRASE = "Is there anything else I can help you with?"
CONFIRM_MARK = "(yes/no)"
MAX_LOST_TURNS = 8
_GREETINGS = ("Hi!", "Hello.", "Hi there.")
_THANKS = ("Thanks, that's all I needed.", "Great, thank you. That's everything.")


class ScriptedUser:
    """A rule-based user simulator for one Airline task."""

    def __init__(self, facts: UserFacts, seed: int = 0) -> None:
        self.facts = facts
        self.seed = seed

    def respond(self, messages: list[dict[str, Any]]) -> str:
        """The user's next message given the dialogue so far (agent view)."""
        spoken = [
            m for m in messages if m.get("role") in ("user", "assistant") and m.get("content")
        ]
        rng = random.Random(f"{self.seed}:{len(spoken)}")
        ask = request_text(self.facts.request)
        if not any(m["role"] == "user" for m in spoken):
            who = f" My user id is {self.facts.user_id}." if rng.random() < 0.5 else ""
            return f"{rng.choice(_GREETINGS)}{who} {ask}"
        agent = [str(m["content"]) for m in spoken if m["role"] == "assistant"]
        text = agent[-1] if agent else ""
        if DONE_PHRASE in text:
            return f"{rng.choice(_THANKS)} {STOP}"
        if "transfer" in text.lower():
            return TRANSFER
        if len(agent) > MAX_LOST_TURNS:
            return f"This isn't going anywhere, I'll call back later. {STOP}"
        if CONFIRM_MARK in text:
            missing = [f for f in expected_details(self.facts.request) if f not in text]
            return f"No, that's not what I asked for. {ask}" if missing else "yes"
        if "user id" in text.lower():
            return f"My user id is {self.facts.user_id}."
        return f"Sorry, let me repeat. {ask}"
