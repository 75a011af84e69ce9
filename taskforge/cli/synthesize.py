"""``taskforge synthesize``: targeted tasks, each certified, deduplicated and guarded."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from taskforge.cli.common import DOMAIN_OPTION, JSON_OPTION, console, emit_json
from taskforge.cli.executor_options import EXECUTOR_OPTION, RAY_ADDRESS_OPTION, WORKERS_OPTION
from taskforge.contracts.io import write_tasks
from taskforge.errors import DataError

if TYPE_CHECKING:
    from taskforge.domains import Domain


def synthesize(
    patterns: list[str] = typer.Option(
        [], "--pattern", help="Failure pattern (or family) to target (repeatable)."
    ),
    all_families: bool = typer.Option(
        False, "--all", help="Every registered family (the default when none is named)."
    ),
    families: list[str] = typer.Option([], "--family", help="Blueprint family (repeatable)."),
    n: int = typer.Option(10, "--n", min=1, help="Candidates per family."),
    seed: int = typer.Option(0, "--seed", help="Seed of sampling and wording."),
    db_path: Path | None = typer.Option(None, "--db", help="Task DB (default: bundled DB)."),
    out: Path = typer.Option(Path("targeted_tasks.json"), "--out", help="Certified tasks."),
    rejected_path: Path | None = typer.Option(
        None, "--rejected", help="Rejected candidates, reasons as issues (default: none)."
    ),
    warehouse: Path | None = typer.Option(
        None, "--warehouse", help="Store every verdict in this warehouse's verifications."
    ),
    config: Path | None = typer.Option(
        None, "--config", help="LLM config: its writer, explorer and judge roles take part."
    ),
    reference_tasks: Path | None = typer.Option(
        None, "--reference-tasks", help="Test tasks the new ones must not near-duplicate."
    ),
    reference_db: Path | None = typer.Option(
        None, "--reference-db", help="Test DB the task DB must be entity-disjoint from."
    ),
    embedder: str = typer.Option("minilm", "--embedder", help="minilm | hashing (dedup)."),
    check_targeting: bool = typer.Option(
        False, "--check-targeting", help="Play the scripted policy on targeted vs naive tasks."
    ),
    naive_tasks: Path | None = typer.Option(
        None, "--naive-tasks", help="Naive tasks on the same DB (default: the shipped seeds)."
    ),
    domain: str = DOMAIN_OPTION,
    as_json: bool = JSON_OPTION,
    executor: str = EXECUTOR_OPTION,
    ray_address: str | None = RAY_ADDRESS_OPTION,
    workers: int = WORKERS_OPTION,
) -> None:
    """Sample grounded situations per family, write them, verify, deduplicate; keep the rest.

    With ``--executor ray`` the candidates are verified in chunks on a Ray cluster (the same
    accepted tasks and certificates as locally).
    """
    from taskforge.contracts.io import load_tasks
    from taskforge.domains import get_domain
    from taskforge.executors import executor_settings, open_executor
    from taskforge.registry import build
    from taskforge.synthesis.llm import roles_from_file
    from taskforge.synthesis.synthesize import synthesize as run

    dom = get_domain(domain)
    chosen = choose_families(dom, patterns, families, all_families)
    db = dom.load_db(db_path)
    roles = roles_from_file(config, seed)
    settings = executor_settings(executor, ray_address, workers)
    with open_executor(settings) as ex:
        report = run(
            db,
            dom.toolkit_cls,
            chosen,
            n,
            seed,
            build("embedder", embedder),
            load_tasks(reference_tasks) if reference_tasks else (),
            dom.load_db(reference_db) if reference_db else None,
            writer=roles.writer,
            explorer=roles.explorer,
            agreement=roles.agreement,
            executor=ex,
            domain=domain,
            config_path=config,
        )
    write_tasks(out, report.accepted)
    if rejected_path is not None:
        write_tasks(rejected_path, report.rejected_tasks())
    summary = {"out": str(out), **report.summary(), **roles.usage()}
    if warehouse is not None:
        summary["stored"] = _store(warehouse, report.verdicts, domain)
    if check_targeting:
        summary["targeting"] = _targeting(report.accepted, naive_tasks, db, dom)
    if as_json:
        emit_json(summary)
        return
    _print(summary, out)


def choose_families(
    domain: Domain, patterns: list[str], families: list[str], all_families: bool
) -> list[str]:
    """The families to sample: named ones, those targeting each pattern, or all of them (also
    when none is named)."""
    kit = domain.synthesis_kit()
    FAMILY_PATTERNS, SAMPLERS = kit.FAMILY_PATTERNS, kit.SAMPLERS

    if all_families or not (patterns or families):
        return list(SAMPLERS)
    chosen = list(families)
    for pattern in patterns:
        found = [f for f, p in FAMILY_PATTERNS.items() if pattern in (f, p) and f in SAMPLERS]
        if not found:
            known = ", ".join(sorted({*FAMILY_PATTERNS, *FAMILY_PATTERNS.values()}))
            raise DataError(f"--pattern {pattern}: no family targets it (known: {known})")
        chosen += found
    unknown = [f for f in chosen if f not in SAMPLERS]
    if unknown:
        raise DataError(f"--family {unknown[0]}: unknown family (known: {', '.join(SAMPLERS)})")
    return list(dict.fromkeys(chosen))


def _store(path: Path, verdicts: list[Any], domain: str) -> int:
    from taskforge.synthesis.records import store_verdicts
    from taskforge.warehouse import Warehouse

    with Warehouse.open(path) as wh:
        return store_verdicts(wh, verdicts, domain)


def _print(summary: dict[str, Any], out: Path) -> None:
    for name, fam in summary["families"].items():
        console.print(f"{name}: {fam['accepted']}/{fam['sampled']} certified")
    console.print(f"wrote {summary['n_accepted']} tasks to {out}")
    for pattern, row in summary.get("targeting", {}).get("patterns", {}).items():
        console.print(
            f"{pattern}: failure rate {row['failure_rate_targeted']} on targeted tasks vs "
            f"{row['failure_rate_naive']} on naive ones ({row['failure_ratio']}x); pattern rate "
            f"{row['pattern_rate_targeted']} vs {row['pattern_rate_naive']}; precision "
            f"{row['targeting_precision']} (of new failures: {row['targeting_precision_new']})"
        )


def _targeting(tasks: list[Any], naive_path: Path | None, db: Any, domain: Domain) -> Any:
    """The targeting check against naive tasks from the same DB (offline scripted policy)."""
    from taskforge.contracts.io import load_tasks
    from taskforge.synthesis.targeting import targeting_check

    if naive_path is None:
        if domain.default_db_path is None:
            raise DataError(f"domain {domain.name!r} ships no seed tasks; pass --naive-tasks")
        naive_path = domain.default_db_path.parent / "seed_tasks.json"
    naive = load_tasks(naive_path)
    return targeting_check(tasks, naive, db, domain.toolkit_cls)
