"""The plugin boundaries: stages never name a domain's tool nor import a domain or trainer."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from taskforge.domains import _MODULES, available_domains, get_domain

ROOT = Path(__file__).resolve().parents[2] / "taskforge"
TAU2_WIDE = {"calculate", "transfer_to_human_agents"}
"""Tool names every tau2 domain shares (conventions, not a domain's knowledge)."""
STAGES = ("mining", "synthesis", "rollout", "warehouse")


def _sources(outside: Path | None = None) -> list[Path]:
    files = sorted(ROOT.rglob("*.py"))
    return [p for p in files if outside is None or outside not in p.parents]


def _imports(path: Path) -> list[str]:
    """Every module an import statement of ``path`` names (``from a import b`` gives a, a.b)."""
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
            names += [f"{node.module}.{alias.name}" for alias in node.names]
    return names


def _rel(path: Path) -> str:
    return str(path.relative_to(ROOT.parent))


def _own_tools(path: Path) -> set[str]:
    """The tools of the domain whose folder holds ``path`` (none outside the domains)."""
    parts = path.relative_to(ROOT).parts
    if len(parts) > 2 and parts[0] == "domains" and parts[1] in available_domains():
        return set(get_domain(parts[1]).toolkit_cls.specs)
    return set()


@pytest.mark.parametrize("name", available_domains())
def test_no_module_outside_a_domain_names_its_tools(name: str) -> None:
    """A name two domains share (Retail's and Airline's get_user_details) may appear in
    either domain's folder; everywhere else no domain's tool is named."""
    domain = get_domain(name)
    tools = sorted(set(domain.toolkit_cls.specs) - TAU2_WIDE)
    assert tools, f"domain {name} has no tools of its own"
    pattern = re.compile(r"\b(" + "|".join(map(re.escape, tools)) + r")\b")
    home = ROOT / "domains" / name
    hits = [
        f"{_rel(p)}: {m.group(0)}"
        for p in _sources(outside=home)
        for m in pattern.finditer(p.read_text(encoding="utf-8"))
        if m.group(0) not in _own_tools(p)
    ]
    assert hits == [], f"{len(hits)} mentions of {name}'s tools outside {_rel(home)}"


def _domain_packages() -> set[str]:
    """Every domain package: the registered ones and any folder of ``taskforge/domains``."""
    folders = {
        f"taskforge.domains.{p.parent.name}" for p in (ROOT / "domains").glob("*/__init__.py")
    }
    return folders | set(_MODULES.values())


def _domain_imports(paths: list[Path]) -> list[str]:
    packages = _domain_packages()
    return [
        f"{_rel(p)}: {m}"
        for p in paths
        for m in _imports(p)
        if any(m == pkg or m.startswith(pkg + ".") for pkg in packages)
    ]


def test_stages_import_no_domain_package() -> None:
    paths = [p for stage in STAGES for p in sorted((ROOT / stage).rglob("*.py"))]
    assert len(paths) > 20
    assert _domain_imports(paths) == []


def test_only_the_domains_import_a_domain_package() -> None:
    outside = _sources(outside=ROOT / "domains")
    assert _domain_imports(outside) == []


def test_the_domain_check_sees_a_domain_import(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(f"{__name__}._rel", lambda p: p.name)
    bad = tmp_path / "bad.py"
    bad.write_text("from taskforge.domains.retail.tools import RetailTools\nimport os\n")
    ok = tmp_path / "ok.py"
    ok.write_text("from taskforge.domains import get_domain\n")
    assert "taskforge.domains.retail" in _domain_packages()
    assert _domain_imports([bad]) and not _domain_imports([ok])


def test_no_module_of_taskforge_imports_trainer_adapters() -> None:
    hits = [
        f"{_rel(p)}: {m}"
        for p in _sources()
        for m in _imports(p)
        if m == "trainer_adapters" or m.startswith("trainer_adapters.")
    ]
    assert hits == []


def test_a_domain_without_a_part_says_so() -> None:
    from dataclasses import replace

    from taskforge.errors import DataError

    bare = replace(get_domain("retail"), name="bare", scripted=None, synthesis=None)
    with pytest.raises(DataError, match="domain 'bare' has no offline scripted agent yet"):
        bare.scripted_agents()
    with pytest.raises(DataError, match="domain 'bare' has no synthesis blueprints yet"):
        bare.synthesis_kit()
    assert bare.hints() is not None and not bare.has("synthesis")


def test_trainer_exporters_are_found_by_name() -> None:
    from taskforge.errors import DataError
    from taskforge.loop.trainer import load_exporter
    from taskforge.registry import REGISTRY

    assert REGISTRY["trainer_exporter"]["verl"].startswith("trainer_adapters.verl.")
    assert callable(load_exporter("verl"))
    assert load_exporter("taskforge.synthesis.seed:sample_seed_tasks") is not None
    with pytest.raises(DataError, match="unknown trainer_exporter 'nope'"):
        load_exporter("nope")
