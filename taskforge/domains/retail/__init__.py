"""tau2-compatible Retail domain: DB model, 16 tools, policy, bundled synthetic data.

Its optional parts (generator, offline scripted agents, synthesis, judge hints, bench fixtures)
are submodules named in ``DOMAIN`` and imported only when a stage asks for them.
"""

from __future__ import annotations

from pathlib import Path

from taskforge.domains import Domain
from taskforge.domains.retail.models import RetailDB
from taskforge.domains.retail.tools import RetailTools
from taskforge.env.db import Database

_HERE = Path(__file__).resolve().parent
BUNDLED_DB = _HERE.parents[2] / "datasets" / "retail" / "db.json"
"""The synthetic DB shipped in the repository (present in a clone or editable install)."""


class RetailDatabase(Database):
    """Retail data (products, users, orders) in tau2's db.json format."""

    model = RetailDB


DOMAIN = Domain(
    name="retail",
    database_cls=RetailDatabase,
    toolkit_cls=RetailTools,
    policy_path=_HERE / "policy.md",
    default_db_path=BUNDLED_DB,
    generator="taskforge.domains.retail.generate",
    scripted="taskforge.domains.retail.scripted",
    synthesis="taskforge.domains.retail.synthesis",
    judge_hints="taskforge.domains.retail.judge_hints",
    bench="taskforge.domains.retail.bench_fixtures",
    probes="taskforge.domains.retail.probe_hints",
)

__all__ = ["BUNDLED_DB", "DOMAIN", "RetailDB", "RetailDatabase", "RetailTools"]
