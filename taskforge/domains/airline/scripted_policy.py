"""A scripted Airline policy: a competent rule-based agent with named, seeded error modes.

An honest, named simulation, not a model. It works only from what an agent sees (the user's
words, the tool outputs), never from a task's gold, and keeps no hidden state: each turn is
recomputed from the messages. Flow: get the user id -> ``get_user_details`` -> parse the request
(:func:`~taskforge.domains.airline.facts.parse_request`) -> ``get_reservation_details`` (and
``search_direct_flight`` for the new date of a flight change) -> list the change and ask
``(yes/no)`` -> on ``yes`` make the write -> report it. A question about the total paid is
answered from the reservation.

Error modes (:data:`ERROR_MODES`), each firing with its rate per opportunity, the draw seeded by
the policy's seed, the mode and the request (the same request gets the same draw):

* ``wrong_flight``: a flight change books another flight of the searched date, or the same
  flight a day later;
* ``wrong_cabin``: a cabin change books the third cabin;
* ``wrong_baggage``: a bag change sets one bag more (total and paid) than asked;
* ``wrong_payment``: a paying change is charged to a certificate of the user (which the tools
  refuse for changes), or else another of their methods;
* ``wrong_passenger``: a passenger change replaces another passenger of the reservation, or
  (a single passenger) keeps the old date of birth;
* ``skip_confirmation``: a paying change is made without asking, with the reservation's
  original payment method;
* ``early_stop``: the agent reports the change done without making it;
* ``repeat_call``: a read is repeated identically until the agent gives up and transfers.

Fired modes are appended to :attr:`ScriptedPolicy.fired` and returned on the assistant message
under :data:`~taskforge.rollout.signals.ERROR_MODES_KEY`.
"""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Any

from taskforge.domains.airline.facts import (
    CABIN_WORDS,
    INFO_KIND,
    PAYING_KINDS,
    Request,
    parse_request,
    total_paid,
    user_id_in,
)
from taskforge.domains.airline.scripted_user import CONFIRM_MARK, DONE_PHRASE
from taskforge.rollout.signals import ERROR_MODES_KEY

ERROR_MODES = (
    "wrong_flight",
    "wrong_cabin",
    "wrong_baggage",
    "wrong_payment",
    "wrong_passenger",
    "skip_confirmation",
    "early_stop",
    "repeat_call",
)
DEFAULT_ERROR_RATES: dict[str, float] = {
    "wrong_flight": 0.25,
    "wrong_cabin": 0.25,
    "wrong_baggage": 0.25,
    "wrong_payment": 0.15,
    "wrong_passenger": 0.25,
    "skip_confirmation": 0.15,
    "early_stop": 0.1,
    "repeat_call": 0.04,
}
"""Rates per opportunity (one write per seed task, so a few opportunities per episode)."""
REPEAT_TIMES = 4
ASK_ID = "Before I can help, I need to verify your identity. Could you please give me your user id?"
ASK_REQUEST = "Thank you, I've found your account. What can I help you with today?"
READS = frozenset({"get_user_details", "get_reservation_details", "search_direct_flight"})
WRITES = frozenset(
    {
        "cancel_reservation",
        "update_reservation_baggages",
        "update_reservation_flights",
        "update_reservation_passengers",
    }
)


@dataclass
class _Call:
    id: str
    name: str
    args: dict[str, Any]
    output: str | None = None

    @property
    def ok(self) -> bool:
        return self.output is not None and not self.output.startswith("Error")

    def data(self) -> Any:
        try:
            return json.loads(self.output or "")
        except json.JSONDecodeError:
            return None


@dataclass
class _Conversation:
    messages: list[dict[str, Any]]
    calls: list[_Call] = field(default_factory=list)
    texts: list[tuple[str, str]] = field(default_factory=list)
    tail: list[_Call] = field(default_factory=list)

    @classmethod
    def parse(cls, messages: list[dict[str, Any]]) -> _Conversation:
        conv = cls(messages)
        by_id: dict[str, _Call] = {}
        for message in messages:
            role = message.get("role")
            if role == "tool" and str(message.get("tool_call_id", "")) in by_id:
                by_id[str(message["tool_call_id"])].output = str(message.get("content") or "")
            elif role == "assistant" and message.get("tool_calls"):
                for raw in message["tool_calls"]:
                    call = _Call(raw.get("id", ""), raw["function"]["name"], _args(raw))
                    by_id[call.id] = call
                    conv.calls.append(call)
                    conv.tail.append(call)
            elif role in ("user", "assistant") and message.get("content"):
                conv.texts.append((str(role), str(message["content"])))
                conv.tail = []
        return conv

    def found(self, name: str, **args: Any) -> Any:
        """The parsed output of the last successful call of ``name`` with ``args``, or None."""
        for call in reversed(self.calls):
            if (
                call.name == name
                and call.ok
                and all(call.args.get(k) == v for k, v in args.items())
            ):
                return call.data()
        return None

    def user_texts(self) -> list[str]:
        return [t for who, t in self.texts if who == "user"]


def _args(raw: dict[str, Any]) -> dict[str, Any]:
    try:
        value = json.loads(raw["function"].get("arguments") or "{}")
    except json.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}


def _say(text: str) -> dict[str, Any]:
    return {"role": "assistant", "content": text}


def _call(name: str, args: dict[str, Any], size: int) -> dict[str, Any]:
    function = {"name": name, "arguments": json.dumps(args)}
    return {
        "role": "assistant",
        "content": None,
        "tool_calls": [{"id": f"call_{size}_{name}", "type": "function", "function": function}],
    }


class ScriptedPolicy:
    """The scripted Airline agent (see the module docstring)."""

    def __init__(self, error_rates: dict[str, float] | None = None, seed: int = 0) -> None:
        self.error_rates = dict(DEFAULT_ERROR_RATES if error_rates is None else error_rates)
        self.seed = seed
        self.fired: list[str] = []
        self._now: list[str] = []
        self._size = 0
        self._key = ""

    def respond(
        self, messages: list[dict[str, Any]], tools: list[dict[str, Any]]
    ) -> dict[str, Any]:
        """The next assistant message: text, or exactly one tool call."""
        conv = _Conversation.parse(messages)
        first = conv.user_texts()[:1]
        self._now, self._size = [], len(messages)
        self._key = hashlib.blake2b((first[0] if first else "").encode(), digest_size=8).hexdigest()
        reply = self._after_tool(conv) or self._identify(conv) or self._serve(conv)
        if self._now:
            self.fired.extend(self._now)
            reply[ERROR_MODES_KEY] = list(self._now)
        return reply

    def _fires(self, mode: str, salt: str) -> bool:
        rate = self.error_rates.get(mode, 0.0)
        if rate > 0 and random.Random(f"{self.seed}:{mode}:{self._key}:{salt}").random() < rate:
            self._now.append(mode)
            return True
        return False

    def _after_tool(self, conv: _Conversation) -> dict[str, Any] | None:
        if not conv.messages or conv.messages[-1].get("role") != "tool" or not conv.tail:
            return None
        last = conv.tail[-1]
        run = _identical_run(conv.tail)
        if run >= 2:
            if run < REPEAT_TIMES:
                return _call(last.name, last.args, self._size)
            summary = "The agent could not retrieve the information needed for the request."
            return _call("transfer_to_human_agents", {"summary": summary}, self._size)
        if last.name == "transfer_to_human_agents":
            return _say("I'm sorry for the trouble. I'm transferring you to a human agent now.")
        if last.name in WRITES:
            return _say(_report(last))
        if last.name in READS and self._fires("repeat_call", str(self._size)):
            return _call(last.name, last.args, self._size)
        return None

    def _identify(self, conv: _Conversation) -> dict[str, Any] | None:
        ids = [u for u in map(user_id_in, conv.user_texts()) if u]
        if not ids:
            return _say(ASK_ID)
        if conv.found("get_user_details", user_id=ids[-1]) is None:
            tried = any(
                c.name == "get_user_details" and c.args.get("user_id") == ids[-1]
                for c in conv.calls
            )
            return (
                _say(ASK_ID)
                if tried
                else _call("get_user_details", {"user_id": ids[-1]}, self._size)
            )
        return None

    def _serve(self, conv: _Conversation) -> dict[str, Any]:
        request = next((r for r in map(parse_request, reversed(conv.user_texts())) if r), None)
        if request is None:
            return _say(ASK_REQUEST)
        rid = request.reservation_id
        reservation = conv.found("get_reservation_details", reservation_id=rid)
        if reservation is None:
            return _call("get_reservation_details", {"reservation_id": rid}, self._size)
        if request.kind == INFO_KIND:
            return _say(
                f"You paid a total of ${total_paid(reservation)} for reservation {rid}. "
                f"{DONE_PHRASE}"
            )
        if request.new_flight is not None:
            found = self._search(conv, reservation, request)
            if isinstance(found, dict):
                return found
        return self._confirm_or_write(conv, request, reservation)

    def _search(
        self, conv: _Conversation, reservation: dict[str, Any], request: Request
    ) -> dict[str, Any] | list[Any]:
        old = next(
            (
                f
                for f in reservation["flights"]
                if (f["flight_number"], f["date"]) == request.old_flight
            ),
            None,
        )
        if old is None or request.new_flight is None:
            return []
        args = {
            "origin": old["origin"],
            "destination": old["destination"],
            "date": request.new_flight[1],
        }
        found = conv.found("search_direct_flight", **args)
        return _call("search_direct_flight", args, self._size) if found is None else list(found)

    def _confirm_or_write(
        self, conv: _Conversation, request: Request, reservation: dict[str, Any]
    ) -> dict[str, Any]:
        texts = conv.texts
        asked = (
            bool(texts)
            and texts[-1][0] == "user"
            and len(texts) > 1
            and CONFIRM_MARK in texts[-2][1]
        )
        salt = json.dumps([request.kind, request.reservation_id, request.new_flight, request.cabin])
        if asked and texts[-1][1].strip().lower().startswith("yes"):
            if self._fires("early_stop", salt):
                return _say(f"All done: {_describe(request)} {DONE_PHRASE}")
            return self._write(conv, request, reservation, salt)
        if request.kind in PAYING_KINDS and self._fires("skip_confirmation", salt):
            original = reservation["payment_history"][0]["payment_id"]
            return self._write(conv, replace(request, payment_id=original), reservation, salt)
        return _say(f"To confirm: {_describe(request)} Shall I go ahead? {CONFIRM_MARK}")

    def _write(
        self, conv: _Conversation, request: Request, reservation: dict[str, Any], salt: str
    ) -> dict[str, Any]:
        rng = random.Random(f"{self.seed}:{self._key}:{salt}:choice")
        name, args = _write_args(request, reservation)
        if request.payment_id and self._fires("wrong_payment", salt):
            args["payment_id"] = _other_method(conv, request.payment_id, rng)
        if request.bags and self._fires("wrong_baggage", salt):
            args["total_baggages"] += 1
            args["nonfree_baggages"] += 1
        if request.cabin and self._fires("wrong_cabin", salt):
            args["cabin"] = next(
                c for c in CABIN_WORDS if c not in (request.cabin, reservation["cabin"])
            )
        if request.new_flight and self._fires("wrong_flight", salt):
            _misbook(args, request, self._search(conv, reservation, request), rng)
        if request.new_passenger and self._fires("wrong_passenger", salt):
            _mispassenger(args, reservation, request, rng)
        return _call(name, args, self._size)


def _write_args(request: Request, reservation: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    rid = request.reservation_id
    if request.kind == "update_reservation_baggages" and request.bags:
        total, paid = request.bags
        return request.kind, {
            "reservation_id": rid,
            "total_baggages": total,
            "nonfree_baggages": paid,
            "payment_id": request.payment_id,
        }
    if request.kind == "update_reservation_flights":
        flights = [
            {"flight_number": f["flight_number"], "date": f["date"]} for f in reservation["flights"]
        ]
        if request.new_flight:
            flights = [
                {"flight_number": request.new_flight[0], "date": request.new_flight[1]}
                if (f["flight_number"], f["date"]) == request.old_flight
                else f
                for f in flights
            ]
        cabin = request.cabin or reservation["cabin"]
        return request.kind, {
            "reservation_id": rid,
            "cabin": cabin,
            "flights": flights,
            "payment_id": request.payment_id,
        }
    if (
        request.kind == "update_reservation_passengers"
        and request.new_passenger
        and request.old_passenger
    ):
        people = [dict(p) for p in reservation["passengers"]]
        for i, p in enumerate(people):
            if (p["first_name"], p["last_name"]) == request.old_passenger:
                people[i] = dict(request.new_passenger)
        return request.kind, {"reservation_id": rid, "passengers": people}
    return "cancel_reservation", {"reservation_id": rid}


def _other_method(conv: _Conversation, payment_id: str, rng: random.Random) -> str:
    user = (
        next(
            (c.data() for c in reversed(conv.calls) if c.name == "get_user_details" and c.ok), None
        )
        or {}
    )
    methods = [m for m in user.get("payment_methods", {}).values() if m["id"] != payment_id]
    certificates = [m["id"] for m in methods if m["source"] == "certificate"]
    others = certificates or [m["id"] for m in methods]
    return str(rng.choice(sorted(others))) if others else payment_id


def _misbook(
    args: dict[str, Any], request: Request, found: dict[str, Any] | list[Any], rng: random.Random
) -> None:
    assert request.new_flight is not None
    number, day = request.new_flight
    others = (
        [
            f["flight_number"]
            for f in found
            if isinstance(f, dict) and f.get("flight_number") != number
        ]
        if isinstance(found, list)
        else []
    )
    if others:
        wrong = (rng.choice(sorted(others)), day)
    else:
        wrong = (number, (date.fromisoformat(day) + timedelta(days=1)).isoformat())
    for f in args["flights"]:
        if (f["flight_number"], f["date"]) == request.new_flight:
            f["flight_number"], f["date"] = wrong


def _mispassenger(
    args: dict[str, Any], reservation: dict[str, Any], request: Request, rng: random.Random
) -> None:
    people = args["passengers"]
    old = [dict(p) for p in reservation["passengers"]]
    right = next(
        i for i, p in enumerate(old) if (p["first_name"], p["last_name"]) == request.old_passenger
    )
    if len(people) > 1:
        wrong = rng.choice([i for i in range(len(people)) if i != right])
        people[right], people[wrong] = old[right], people[right]
    else:
        people[right]["dob"] = old[right]["dob"]


def _describe(request: Request) -> str:
    rid = request.reservation_id
    pay = f" charged with payment method {request.payment_id}" if request.payment_id else ""
    if request.kind == "cancel_reservation":
        return f"cancel reservation {rid}."
    if request.bags:
        return (
            f"reservation {rid} gets {request.bags[0]} checked bags, {request.bags[1]} paid,{pay}."
        )
    if request.cabin:
        cabin = CABIN_WORDS[request.cabin]
        return f"reservation {rid} moves to the {cabin} cabin,{pay}."
    if request.new_flight:
        number, day = request.new_flight
        return f"reservation {rid} moves to flight {number} on {day},{pay}."
    new = request.new_passenger or {}
    who = f"{new.get('first_name')} {new.get('last_name')}"
    return f"on reservation {rid}, passenger {who}, born {new.get('dob')}."


def _report(call: _Call) -> str:
    if not call.ok:
        return f"I'm sorry, the change could not be made: {call.output}. {DONE_PHRASE}"
    what = call.name.replace("_", " ")
    rid = call.args.get("reservation_id")
    return f"Done: {what} on reservation {rid} went through. {DONE_PHRASE}"


def _identical_run(tail: list[_Call]) -> int:
    if not tail:
        return 0
    last, run = tail[-1], 0
    for call in reversed(tail):
        if (call.name, call.args) != (last.name, last.args):
            break
        run += 1
    return run
