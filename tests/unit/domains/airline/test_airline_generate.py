"""The synthetic Airline DB: reproducible, valid, disjoint from tau2's, usable by the tools."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from taskforge.cli.app import app
from taskforge.domains import Domain
from taskforge.domains.airline.generate import generate_db
from taskforge.env.environment import Environment

REPO = Path(__file__).resolve().parents[4]
DB = dict[str, Any]


@pytest.fixture(scope="module")
def reference(airline_dir: Path) -> DB:
    data: DB = json.loads((airline_dir / "db.json").read_text())
    return data


@pytest.fixture(scope="module")
def db(reference: DB) -> DB:
    return generate_db(seed=3, users=60, reservations=120, flights=40, reference=reference)


def _keys(db: DB) -> dict[str, set[Any]]:
    users = db["users"].values()
    return {
        "user_id": set(db["users"]),
        "email": {u["email"] for u in users},
        "name": {(u["name"]["first_name"], u["name"]["last_name"]) for u in users},
        "payment_method_id": {pm for u in users for pm in u["payment_methods"]},
        "reservation_id": set(db["reservations"]),
        "flight_number": set(db["flights"]),
    }


def test_same_seed_same_db_other_seed_other_db(reference: DB, db: DB) -> None:
    again = generate_db(seed=3, users=60, reservations=120, flights=40, reference=reference)
    assert json.dumps(again) == json.dumps(db)
    other = generate_db(seed=4, users=60, reservations=120, flights=40, reference=reference)
    assert set(other["users"]) != set(db["users"])


def test_disjoint_from_tau2s_db(reference: DB, db: DB) -> None:
    ours, theirs = _keys(db), _keys(reference)
    for kind, values in ours.items():
        assert values and not values & theirs[kind], kind
    tool_made = {"HATHAT", "HATHAU", "HATHAV"} | {
        f"certificate_{n}" for n in (3221322, 3221323, 3221324)
    }
    assert not tool_made & (ours["reservation_id"] | ours["payment_method_id"])


def test_valid_and_consistent(airline: Domain, db: DB) -> None:
    loaded = airline.database_cls.from_dict(db)
    assert {t: len(r) for t, r in loaded.tables.items()} == {
        "flights": 40,
        "users": 60,
        "reservations": 120,
    }
    for rid, res in db["reservations"].items():
        assert rid in db["users"][res["user_id"]]["reservations"]
        assert res["created_at"][:10] <= res["flights"][0]["date"]
        seats = sum(f["price"] for f in res["flights"]) * len(res["passengers"])
        extra = 50 * res["nonfree_baggages"] + 30 * len(res["passengers"]) * (
            res["insurance"] == "yes"
        )
        assert res["payment_history"] == [
            {"payment_id": res["payment_history"][0]["payment_id"], "amount": seats + extra}
        ]
        assert re.fullmatch(r"[A-Z0-9]{6}", rid)


@pytest.mark.parametrize("source", ["generated", "bundled"])
def test_tools_run_on_a_generated_db(airline: Domain, source: str) -> None:
    """Needs no ../shared: a DB generated without reference, and the shipped one."""
    db = (
        generate_db(seed=5, users=40, reservations=80, flights=30)
        if source == "generated"
        else json.loads((REPO / "datasets" / "airline" / "db.json").read_text())
    )
    env = Environment(airline.toolkit_cls, airline.database_cls.from_dict(db))
    number, flight = next(iter(db["flights"].items()))
    found = json.loads(env.execute("search_direct_flight", {
        "origin": flight["origin"], "destination": flight["destination"], "date": "2024-05-20",
    })[0])  # fmt: skip
    assert number in {f["flight_number"] for f in found}
    user_id, user = next((u, r) for u, r in db["users"].items() if r["reservations"])
    card = next(m for m in user["payment_methods"] if m.startswith("credit_card"))
    price = flight["dates"]["2024-05-20"]["prices"]["business"]
    booking = {
        "user_id": user_id, "origin": flight["origin"], "destination": flight["destination"],
        "flight_type": "one_way", "cabin": "business",
        "flights": [{"flight_number": number, "date": "2024-05-20"}],
        "passengers": [{"first_name": "Ada", "last_name": "Quenby", "dob": "1980-02-02"}],
        "payment_methods": [{"payment_id": card, "amount": price}],
        "total_baggages": 0, "nonfree_baggages": 0, "insurance": "no",
    }  # fmt: skip
    output, error = env.execute("book_reservation", booking)
    if flight["dates"]["2024-05-20"]["available_seats"]["business"] == 0:
        assert output == f"Error: Not enough seats on flight {number}"
        return
    assert not error, output
    assert env.execute("cancel_reservation", {"reservation_id": "HATHAT"})[1] is False
    for rid in user["reservations"]:
        assert env.execute("get_reservation_details", {"reservation_id": rid})[1] is False


def test_bundled_db_is_what_the_readme_command_writes(airline_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "db.json"
    result = CliRunner().invoke(app, [
        "db", "generate", "--domain", "airline", "--seed", "0", "--users", "100",
        "--reservations", "200", "--flights", "50",
        "--disjoint-from", str(airline_dir / "db.json"), "--out", str(out), "--json",
    ])  # fmt: skip
    assert result.exit_code == 0, result.stdout
    assert json.loads(result.stdout)["reservations"] == 200
    assert out.read_bytes() == (REPO / "datasets" / "airline" / "db.json").read_bytes()


def test_bad_sizes_fail_with_one_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, [
        "db", "generate", "--domain", "airline", "--users", "100000",
        "--out", str(tmp_path / "x.json"),
    ])  # fmt: skip
    assert result.exit_code != 0 and "users must be between 1 and" in result.output


def test_policy_is_written_in_own_words(airline: Domain, airline_dir: Path) -> None:
    ours = airline.policy
    assert "certificate" in ours and "50 dollars" in ours and "24 hours" in ours
    theirs = (airline_dir / "policy.md").read_text()
    sentences = {s.strip() for s in re.split(r"[.\n]", theirs) if len(s.strip()) > 40}
    assert not {s for s in sentences if s in ours}
