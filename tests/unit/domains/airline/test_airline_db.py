"""The Airline DB model reads tau2's db.json unchanged and hashes it as tau2 does."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from taskforge.domains import Domain
from taskforge.env.db import Database
from taskforge.env.environment import Environment
from taskforge.errors import DataError


def test_db_round_trip_equals_the_file(airline_dir: Path, airline_db: Database) -> None:
    data = json.loads((airline_dir / "db.json").read_text())
    dumped = json.loads(json.dumps(airline_db.to_dict()))
    assert {t: len(r) for t, r in dumped.items()} == {
        "flights": 300,
        "users": 500,
        "reservations": 2000,
    }
    for reservation in dumped["reservations"].values():
        assert reservation.pop("status") is None  # tau2's model dumps the default too
    assert dumped == data


def test_full_hash_is_tau2s_hash_of_its_model_dump(airline_dir: Path, airline_db: Database) -> None:
    """tau2 hashes sha256(json.dumps(model_dump(), sort_keys=True)); its dump adds status."""
    data = json.loads((airline_dir / "db.json").read_text())
    for reservation in data["reservations"].values():
        reservation["status"] = None
    expected = hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()
    assert airline_db.full_json_hash() == expected


def test_incremental_hash_follows_writes(airline: Domain, airline_db: Database) -> None:
    env = Environment(airline.toolkit_cls, airline_db)
    assert env.db_hash == airline_db.hash
    _out, error = env.execute("cancel_reservation", {"reservation_id": "4WQ150"})
    assert not error and env.db_hash != airline_db.hash
    rebuilt = airline.database_cls(json.loads(json.dumps(env.state.to_dict())))
    assert rebuilt.hash == env.db_hash


def test_invalid_db_names_file_and_field(tmp_path: Path, airline: Domain) -> None:
    path = tmp_path / "db.json"
    path.write_text(json.dumps({"flights": {}, "users": {}, "reservations": {"X": {}}}))
    with pytest.raises(DataError, match=r"db\.json.*reservations"):
        airline.load_db(path)
