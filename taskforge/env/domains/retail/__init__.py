"""tau2-compatible Retail domain: DB model, 16 tools, policy, bundled synthetic data."""

from __future__ import annotations

from pathlib import Path

from taskforge.env.db import Database
from taskforge.env.domains import Domain
from taskforge.env.domains.retail.models import RetailDB
from taskforge.env.domains.retail.tools import RetailTools

_HERE = Path(__file__).resolve().parent
BUNDLED_DB = _HERE.parents[3] / "datasets" / "retail" / "db.json"
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
)

__all__ = ["BUNDLED_DB", "DOMAIN", "RetailDB", "RetailDatabase", "RetailTools"]
