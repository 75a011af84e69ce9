"""``taskforge synthesize``: targeted tasks, each certified, deduplicated and guarded."""

from __future__ import annotations

from pathlib import Path

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
    if as_json:
        emit_json(summary)
        return
    for name, fam in summary["families"].items():
        console.print(f"{name}: {fam['accepted']}/{fam['sampled']} certified")
    console.print(f"wrote {len(report.accepted)} tasks to {out}")
