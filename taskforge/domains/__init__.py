"""Domain registry: a domain bundles its DB type, toolkit, policy, data and stage knowledge.

A domain is one package under ``taskforge/domains/<name>/`` with a module-level ``DOMAIN``
(a :class:`Domain`) and one line in ``_MODULES`` below. Beyond the five required fields, a
domain names (as module paths, imported on first use) the optional parts the stages ask for:
its offline scripted agents, its synthesis knowledge, its judge hints and its bench fixtures
(the protocols are in :mod:`taskforge.domains.protocols`). A stage asking for a part the
domain lacks gets a one-line :class:`~taskforge.errors.DataError`.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from taskforge.env.db import Database
from taskforge.env.environment import Environment
from taskforge.env.toolkit import Toolkit
from taskforge.errors import DataError

if TYPE_CHECKING:
    from taskforge.domains.protocols import BenchFixtures, JudgeHints, ScriptedAgents, SynthesisKit

PART_WORDS = {
    "generator": "DB generator",
    "scripted": "offline scripted agent",
    "synthesis": "synthesis blueprints",
    "judge_hints": "judge hints",
    "bench": "bench fixtures",
    "probes": "reward-probe hints",
}
"""What each optional part is called in errors."""


@dataclass(frozen=True)
class Domain:
    """Everything taskforge needs to run one domain."""

    name: str
    database_cls: type[Database]
    toolkit_cls: type[Toolkit]
    policy_path: Path
    default_db_path: Path | None = None
    generator: str | None = None
    """Module with ``generate_db`` and ``write_db`` (synthetic DBs, ``taskforge db generate``)."""
    scripted: str | None = None
    """Module implementing :class:`~taskforge.domains.protocols.ScriptedAgents`."""
    synthesis: str | None = None
    """Module implementing :class:`~taskforge.domains.protocols.SynthesisKit`."""
    judge_hints: str | None = None
    """Module implementing :class:`~taskforge.domains.protocols.JudgeHints`."""
    bench: str | None = None
    """Module implementing :class:`~taskforge.domains.protocols.BenchFixtures`."""
    probes: str | None = None
    """Module implementing :class:`~taskforge.domains.protocols.ProbeHints`."""

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

    def has(self, part: str) -> bool:
        """Whether the domain provides the optional ``part``."""
        return getattr(self, part) is not None

    def part(self, part: str) -> Any:
        """The module of an optional part; DataError when the domain has none."""
        path = getattr(self, part)
        if path is None:
            raise DataError(f"domain {self.name!r} has no {PART_WORDS[part]} yet")
        return importlib.import_module(path)

    def generator_module(self) -> Any:
        """The DB generator module (``generate_db``, ``write_db``)."""
        return self.part("generator")

    def scripted_agents(self) -> ScriptedAgents:
        """The offline scripted policy and user."""
        return cast("ScriptedAgents", self.part("scripted"))

    def synthesis_kit(self) -> SynthesisKit:
        """Seed sampling, blueprint samplers, explorer and writer knowledge."""
        return cast("SynthesisKit", self.part("synthesis"))

    def hints(self) -> JudgeHints | None:
        """What the diagnostic judge knows of the domain (None: generic judging only)."""
        return cast("JudgeHints", self.part("judge_hints")) if self.judge_hints else None

    def bench_fixtures(self) -> BenchFixtures:
        """Synthetic rows and candidates for the warehouse and synthesis benches."""
        return cast("BenchFixtures", self.part("bench"))


DEFAULT_DOMAIN = "retail"
"""The domain a command runs on when none is named."""

_MODULES = {
    "retail": "taskforge.domains.retail",
}
"""Name -> package of every registered domain: adding a domain adds one line here."""


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


def domain_of(db: Database) -> Domain:
    """The registered domain whose DB class ``db`` is (loaded domains are tried first)."""
    loaded = [n for n, m in _MODULES.items() if m in sys.modules]
    for name in loaded + [n for n in available_domains() if n not in loaded]:
        try:
            domain = get_domain(name)
        except ImportError:
            continue
        if isinstance(db, domain.database_cls):
            return domain
    raise DataError(f"no registered domain has DB type {type(db).__name__}")


def domain_for_toolkit(toolkit_cls: type[Toolkit]) -> Domain | None:
    """The registered domain whose toolkit is ``toolkit_cls`` (already imported ones only)."""
    for name, module in _MODULES.items():
        if module in sys.modules and get_domain(name).toolkit_cls is toolkit_cls:
            return get_domain(name)
    return None
