"""tau2-compatible Airline domain: DB model, 14 tools, policy, synthetic DB generator, seed
tasks, offline scripted agents, synthesis blueprints, judge hints and bench fixtures."""

from __future__ import annotations

from pathlib import Path

from taskforge.domains import Domain
from taskforge.domains.airline.models import AirlineDB
from taskforge.domains.airline.tools import AirlineTools
from taskforge.env.db import Database

_HERE = Path(__file__).resolve().parent
BUNDLED_DB = _HERE.parents[2] / "datasets" / "airline" / "db.json"
"""The synthetic DB shipped in the repository (present in a clone or editable install)."""


class AirlineDatabase(Database):
    """Airline data (flights, users, reservations) in tau2's db.json format."""

    model = AirlineDB


DOMAIN = Domain(
    name="airline",
    database_cls=AirlineDatabase,
    toolkit_cls=AirlineTools,
    policy_path=_HERE / "policy.md",
    default_db_path=BUNDLED_DB,
    generator="taskforge.domains.airline.generate",
    scripted="taskforge.domains.airline.scripted",
    synthesis="taskforge.domains.airline.synthesis",
    judge_hints="taskforge.domains.airline.judge_hints",
    bench="taskforge.domains.airline.bench_fixtures",
)

__all__ = ["BUNDLED_DB", "DOMAIN", "AirlineDB", "AirlineDatabase", "AirlineTools"]
