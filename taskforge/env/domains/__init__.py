"""Domain registry: a domain bundles its DB type, toolkit, policy and bundled data."""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from taskforge.env.db import Database
from taskforge.env.environment import Environment
from taskforge.env.toolkit import Toolkit
from taskforge.errors import DataError


@dataclass(frozen=True)
class Domain:
    """Everything taskforge needs to run one domain."""

    name: str
    database_cls: type[Database]
    toolkit_cls: type[Toolkit]
    policy_path: Path
    default_db_path: Path | None = None

    @property
    def policy(self) -> str:
        """The agent policy (Markdown)."""
        return self.policy_path.read_text(encoding="utf-8")

    def load_db(self, path: str | Path | None = None) -> Database:
        """Load a DB file, or the domain's bundled DB."""
        target = path or self.default_db_path
        if target is None or not Path(target).exists():
            where = target or "none"
            raise DataError(f"domain {self.name!r}: no DB at {where}; pass --db PATH")
        return self.database_cls.load(target)

    def environment(
        self, db: Database, tool_schemas: Sequence[dict[str, Any]] | None = None
    ) -> Environment:
        """A fresh episode environment over ``db``."""
        return Environment(self.toolkit_cls, db, tool_schemas)


_MODULES = {"retail": "taskforge.env.domains.retail", "airline": "taskforge.domains.airline"}


def available_domains() -> list[str]:
    """Names of the registered domains."""
    return sorted(_MODULES)


def get_domain(name: str) -> Domain:
    """The domain called ``name`` (imported on first use)."""
    if name not in _MODULES:
        raise DataError(f"unknown domain {name!r}; known: {', '.join(available_domains())}")
    module = importlib.import_module(_MODULES[name])
    domain: Domain = module.DOMAIN
    return domain
