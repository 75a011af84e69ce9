"""``taskforge synthesize``: targeted tasks, each certified, deduplicated and guarded."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from taskforge.cli.common import DOMAIN_OPTION, JSON_OPTION, console, emit_json, write_tasks


def synthesize(
    families: list[str] = typer.Option(
        ["multi_order", "variant_selection", "multi_write", "payment_difference"],
        "--family",
        help="Blueprint families to sample (repeatable).",
    ),
    n: int = typer.Option(10, "--n", min=1, help="Candidates per family."),
    seed: int = typer.Option(0, "--seed", help="Seed of sampling and wording."),
    db_path: Path | None = typer.Option(None, "--db", help="Task DB (default: bundled DB)."),
    out: Path = typer.Option(Path("targeted_tasks.json"), "--out", help="Certified tasks."),
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
) -> None:
    """Sample grounded situations per family, write them, verify, deduplicate; keep the rest."""
    from taskforge.contracts.io import load_tasks
    from taskforge.env.domains import get_domain
    from taskforge.registry import build
    from taskforge.synthesis.synthesize import synthesize as run

    dom = get_domain(domain)
    db = dom.load_db(db_path)
    report = run(
        db,
        dom.toolkit_cls,
        families,
        n,
        seed,
        build("embedder", embedder),
        load_tasks(reference_tasks) if reference_tasks else (),
        dom.load_db(reference_db) if reference_db else None,
    )
    write_tasks(out, report.accepted)
    summary = {"out": str(out), **report.summary()}
    if check_targeting:
        summary["targeting"] = _targeting(report.accepted, naive_tasks, db, dom.toolkit_cls)
    if as_json:
        emit_json(summary)
        return
    for name, fam in summary["families"].items():
        console.print(f"{name}: {fam['accepted']}/{fam['sampled']} certified")
    console.print(f"wrote {len(report.accepted)} tasks to {out}")
    for pattern, row in summary.get("targeting", {}).get("patterns", {}).items():
        console.print(
            f"{pattern}: failure rate {row['failure_rate_targeted']} on targeted tasks vs "
            f"{row['failure_rate_naive']} on naive ones ({row['failure_ratio']}x); pattern rate "
            f"{row['pattern_rate_targeted']} vs {row['pattern_rate_naive']}; precision "
            f"{row['precision']} (of new failures: {row['precision_new']})"
        )


def _targeting(tasks: list[Any], naive_path: Path | None, db: Any, toolkit_cls: Any) -> Any:
    """The targeting check against naive tasks from the same DB (offline scripted policy)."""
    from taskforge.contracts.io import load_tasks
    from taskforge.env.domains.retail import BUNDLED_DB
    from taskforge.synthesis.targeting import targeting_check

    naive = load_tasks(naive_path or BUNDLED_DB.parent / "seed_tasks.json")
    return targeting_check(tasks, naive, db, toolkit_cls)
