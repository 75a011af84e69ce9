"""Airline fixtures: the domain and tau2's Airline DB (skipped when ../shared is absent)."""

from __future__ import annotations

from pathlib import Path

import pytest

from taskforge.domains import Domain, get_domain
from taskforge.env.db import Database


@pytest.fixture(scope="session")
def airline() -> Domain:
    """The Airline domain, through the registry."""
    return get_domain("airline")


@pytest.fixture(scope="session")
def airline_db(airline_dir: Path, airline: Domain) -> Database:
    """tau2's Airline DB, loaded once."""
    return airline.load_db(airline_dir / "db.json")
