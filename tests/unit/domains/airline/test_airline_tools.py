"""The Airline toolkit agrees with tau2-bench: schemas, outputs, errors and effects."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from taskforge.contracts.io import load_results
from taskforge.domains import Domain
from taskforge.env.db import Database
from taskforge.env.environment import Environment
from taskforge.env.schema import load_schema_overrides

WRITES = {
    "book_reservation",
    "cancel_reservation",
    "send_certificate",
    "update_reservation_baggages",
    "update_reservation_flights",
    "update_reservation_passengers",
}
RESULTS = "results/gpt-4.1_airline_test_1trial.json"


def _shape(value: Any) -> Any:
    """A schema without its words (descriptions, titles): names, types, items, refs, enums."""
    if isinstance(value, dict):
        return {k: _shape(v) for k, v in value.items() if k not in ("description", "title")}
    if isinstance(value, list):
        return [_shape(v) for v in value]
    return value


def test_schemas_equal_tau2_but_for_the_words(airline_dir: Path, airline: Domain) -> None:
    theirs = {
        s["function"]["name"]: s
        for s in json.loads((airline_dir / "tool_schemas.json").read_text())
    }
    ours = {s["function"]["name"]: s for s in airline.toolkit_cls.openai_schemas()}
    assert sorted(ours) == sorted(theirs) and len(ours) == 14
    for name, schema in theirs.items():
        mine, tau2 = ours[name]["function"]["parameters"], schema["function"]["parameters"]
        assert list(mine["properties"]) == list(tau2["properties"]), name
        assert _shape(mine) == _shape(tau2), name
        assert ours[name]["function"]["description"] != schema["function"]["description"]
    defs = ours["book_reservation"]["function"]["parameters"]["$defs"]
    assert sorted(defs) == ["FlightInfo", "Passenger", "Payment"]


def test_tau2_schemas_can_be_shown_instead(airline_dir: Path, airline: Domain) -> None:
    path = airline_dir / "tool_schemas.json"
    shown = load_schema_overrides(path, airline.toolkit_cls.specs)
    assert shown == json.loads(path.read_text())


def test_tool_kinds(airline: Domain) -> None:
    kinds = {name: spec.kind.value for name, spec in airline.toolkit_cls.specs.items()}
    assert {n for n, k in kinds.items() if k == "write"} == WRITES
    assert {n for n, k in kinds.items() if k == "generic"} == {
        "calculate",
        "transfer_to_human_agents",
    }
    assert sum(k == "read" for k in kinds.values()) == 6


def test_outputs_equal_tau2_recorded_outputs(
    airline_dir: Path, airline: Domain, airline_db: Database
) -> None:
    """Replaying every recorded call of the 20 simulations gives tau2's exact output."""
    results = load_results(airline_dir / RESULTS)
    same, different, names = 0, [], set()
    for sim in results.simulations:
        env, calls = Environment(airline.toolkit_cls, airline_db), {}
        for message in sim.messages:
            calls.update({c.id: c for c in message.tool_calls or []})
            if message.role == "tool":
                call = calls[message.id]
                names.add(call.name)
                output, _ = env.execute(call.name, call.arguments)
                same += output == message.content
                different += [call.name] if output != message.content else []
    assert different == [] and same == 148
    assert names >= WRITES  # every write tool is among the calls compared


@pytest.fixture
def env(airline: Domain, airline_db: Database) -> Environment:
    return Environment(airline.toolkit_cls, airline_db)


def _booking(**changes: Any) -> dict[str, Any]:
    """mia_li_3668 books HAT001 (PHL to LGA) on May 20, one way, economy, one paid bag."""
    args: dict[str, Any] = {
        "user_id": "mia_li_3668",
        "origin": "PHL",
        "destination": "LGA",
        "flight_type": "one_way",
        "cabin": "economy",
        "flights": [{"flight_number": "HAT001", "date": "2024-05-20"}],
        "passengers": [{"first_name": "Mia", "last_name": "Li", "dob": "1990-04-05"}],
        "payment_methods": [{"payment_id": "credit_card_4421486", "amount": 0}],
        "total_baggages": 1,
        "nonfree_baggages": 1,
        "insurance": "yes",
    }
    return args | changes


def _price(env: Environment, cabin: str = "economy") -> int:
    dates = env.state.get("flights", "HAT001")["dates"]  # type: ignore[index]
    price: int = dates["2024-05-20"]["prices"][cabin]
    return price


def test_lookup_errors_are_tau2s(env: Environment) -> None:
    assert env.execute("get_user_details", {"user_id": "nobody_1"}) == (
        "Error: User nobody_1 not found",
        True,
    )
    assert env.execute("get_reservation_details", {"reservation_id": "ZZZZZZ"}) == (
        "Error: Reservation ZZZZZZ not found",
        True,
    )
    assert env.execute("get_flight_status", {"flight_number": "HAT001", "date": "2024-06-01"}) == (
        "Error: Flight HAT001 not found on date 2024-06-01",
        True,
    )
    assert env.execute("get_flight_status", {"flight_number": "HAT001", "date": "2024-05-03"}) == (
        "cancelled",
        False,
    )


def test_booking_checks_then_charges_and_takes_seats(env: Environment) -> None:
    total = _price(env) + 30 + 50
    output, error = env.execute("book_reservation", _booking())
    assert error and output == (
        f"Error: Payment amount does not add up, total price is {total}, but paid 0"
    )
    landed = _booking(flights=[{"flight_number": "HAT001", "date": "2024-05-01"}])
    assert env.execute("book_reservation", landed) == (
        "Error: Flight HAT001 not available on date 2024-05-01",
        True,
    )
    seats = env.state.get("flights", "HAT001")["dates"]["2024-05-20"]["available_seats"]  # type: ignore[index]
    before = seats["economy"]
    pay = [
        {"payment_id": "certificate_4856383", "amount": 100},
        {"payment_id": "credit_card_4421486", "amount": total - 100},
    ]
    output, error = env.execute("book_reservation", _booking(payment_methods=pay))
    assert not error, output
    booked = json.loads(output)
    assert booked["reservation_id"] == "HATHAT" and booked["created_at"] == "2024-05-15T15:00:00"
    assert booked["flights"][0]["price"] == _price(env) and booked["status"] is None
    user = env.state.get("users", "mia_li_3668")
    assert user is not None and user["reservations"][-1] == "HATHAT"
    assert "certificate_4856383" not in user["payment_methods"]  # a certificate is used up
    after = env.state.get("flights", "HAT001")["dates"]["2024-05-20"]["available_seats"]  # type: ignore[index]
    assert after["economy"] == before - 1


def test_three_new_reservations_at_most(env: Environment) -> None:
    total = _price(env) + 30 + 50
    pay = [{"payment_id": "credit_card_4421486", "amount": total}]
    ids = [
        json.loads(env.execute("book_reservation", _booking(payment_methods=pay))[0]) for _ in "abc"
    ]
    assert [r["reservation_id"] for r in ids] == ["HATHAT", "HATHAU", "HATHAV"]
    assert env.execute("book_reservation", _booking(payment_methods=pay)) == (
        "Error: Too many reservations",
        True,
    )


def test_bad_flight_object_gets_pydantics_message(env: Environment) -> None:
    output, error = env.execute("book_reservation", _booking(flights=[{"flight_number": "HAT001"}]))
    assert error and output.startswith("Error: 1 validation error for FlightInfo\ndate\n")


def test_cancel_refunds_every_payment_line(env: Environment, airline_db: Database) -> None:
    before = airline_db.tables["reservations"]["4WQ150"]["payment_history"]
    output, error = env.execute("cancel_reservation", {"reservation_id": "4WQ150"})
    assert not error
    cancelled = json.loads(output)
    assert cancelled["status"] == "cancelled"
    assert cancelled["payment_history"] == before + [
        {"payment_id": p["payment_id"], "amount": -p["amount"]} for p in before
    ]


def test_baggage_update_payment_rules(env: Environment, airline_db: Database) -> None:
    res = airline_db.tables["reservations"]["4WQ150"]
    user = airline_db.tables["users"][res["user_id"]]
    args = {
        "reservation_id": "4WQ150",
        "total_baggages": res["total_baggages"] + 2,
        "nonfree_baggages": res["nonfree_baggages"] + 2,
        "payment_id": "credit_card_0000000",
    }
    assert env.execute("update_reservation_baggages", args) == (
        "Error: Payment method not found",
        True,
    )
    card = next(m for m in user["payment_methods"].values() if m["source"] == "gift_card")
    args["payment_id"] = card["id"]
    output, error = env.execute("update_reservation_baggages", args)
    assert not error and json.loads(output)["payment_history"][-1] == {
        "payment_id": card["id"],
        "amount": 100,
    }
    left = env.state.get("users", res["user_id"])["payment_methods"][card["id"]]["amount"]  # type: ignore[index]
    assert left == card["amount"] - 100


def test_certificates_cannot_pay_changes(env: Environment, airline_db: Database) -> None:
    for rid, res in airline_db.tables["reservations"].items():  # noqa: B007 (used after break)
        methods = airline_db.tables["users"][res["user_id"]]["payment_methods"]
        certificate = next((m for m in methods if m.startswith("certificate")), None)
        if certificate:
            break
    args = {
        "reservation_id": rid,
        "total_baggages": 9,
        "nonfree_baggages": 9,
        "payment_id": certificate,
    }
    assert env.execute("update_reservation_baggages", args) == (
        "Error: Certificate cannot be used to update reservation",
        True,
    )


def test_send_certificate_three_times_at_most(env: Environment) -> None:
    outs = [
        env.execute("send_certificate", {"user_id": "mia_li_3668", "amount": 150}) for _ in "abc"
    ]
    assert outs[0] == (
        "Certificate certificate_3221322 added to user mia_li_3668 with amount 150.",
        False,
    )
    assert env.execute("send_certificate", {"user_id": "mia_li_3668", "amount": 150}) == (
        "Error: Too many certificates",
        True,
    )
    methods = env.state.get("users", "mia_li_3668")["payment_methods"]  # type: ignore[index]
    assert methods["certificate_3221324"] == {
        "source": "certificate",
        "id": "certificate_3221324",
        "amount": 150.0,
    }


def test_passenger_count_cannot_change(env: Environment) -> None:
    one = [{"first_name": "A", "last_name": "B", "dob": "2000-01-01"}]
    assert env.execute(
        "update_reservation_passengers", {"reservation_id": "4WQ150", "passengers": one}
    ) == ("Error: Number of passengers does not match", True)


def test_cabin_change_reprices_and_charges_the_difference(
    env: Environment, airline_db: Database
) -> None:
    """A kept flight keeps its price only in the same cabin; a new cabin is repriced."""
    for rid, res in airline_db.tables["reservations"].items():  # noqa: B007 (used after break)
        flights = airline_db.tables["flights"]
        if res["cabin"] == "economy" and all(
            flights[f["flight_number"]]["dates"][f["date"]]["status"] == "available"
            for f in res["flights"]
        ):
            break
    legs = [{"flight_number": f["flight_number"], "date": f["date"]} for f in res["flights"]]
    card = next(
        m
        for m in airline_db.tables["users"][res["user_id"]]["payment_methods"]
        if m.startswith("credit_card")
    )
    args = {"reservation_id": rid, "cabin": "business", "flights": legs, "payment_id": card}
    output, error = env.execute("update_reservation_flights", args)
    assert not error, output
    changed = json.loads(output)
    n = len(res["passengers"])
    new_prices = [
        airline_db.tables["flights"][f["flight_number"]]["dates"][f["date"]]["prices"]["business"]
        for f in res["flights"]
    ]
    assert [f["price"] for f in changed["flights"]] == new_prices
    paid = (sum(new_prices) - sum(f["price"] for f in res["flights"])) * n
    assert changed["payment_history"][-1] == {"payment_id": card, "amount": paid}
    assert changed["cabin"] == "business"


@pytest.mark.parametrize(
    ("expression", "expected"),
    [("2 + 2", "4.0"), ("(250 * 3 - 100) / 4", "162.5"), ("1 / 3", "0.33")],
)
def test_calculate(env: Environment, expression: str, expected: str) -> None:
    assert env.execute("calculate", {"expression": expression}) == (expected, False)


def test_calculate_rejects_other_characters(env: Environment) -> None:
    assert env.execute("calculate", {"expression": "__import__('os')"}) == (
        "Error: Invalid characters in expression",
        True,
    )
