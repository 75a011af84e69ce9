"""``taskforge mine``: failed trajectories -> judgments -> clusters -> a taxonomy version."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from taskforge.cli.common import DOMAIN_OPTION, JSON_OPTION, WAREHOUSE_OPTION, console, emit_json
from taskforge.cli.executor_options import EXECUTOR_OPTION, RAY_ADDRESS_OPTION, WORKERS_OPTION


def mine(
    runs: list[str] | None = typer.Option(None, "--run", help="Runs to mine (repeatable)."),
    round_: int | None = typer.Option(None, "--round", help="Only runs of this loop round."),
    config: Path | None = typer.Option(None, "--config", help="LLM config (llm judge/labeler)."),
    judge: str = typer.Option("diagnostic", "--judge", help="diagnostic | llm"),
    embedder: str = typer.Option("minilm", "--embedder", help="minilm | hashing"),
    labeler: str = typer.Option("keywords", "--labeler", help="keywords | llm"),
    min_cluster_size: int = typer.Option(10, "--min-cluster-size", min=2),
    db_path: Path | None = typer.Option(
        None, "--db", help="DB to re-score runs recorded without taskforge's diff (tau2 results)."
    ),
    warehouse: Path | None = WAREHOUSE_OPTION,
    domain: str = DOMAIN_OPTION,
    as_json: bool = JSON_OPTION,
    executor: str = EXECUTOR_OPTION,
    ray_address: str | None = RAY_ADDRESS_OPTION,
    workers: int = WORKERS_OPTION,
) -> None:
    """Explain every failure, cluster the explanations and store a new taxonomy version.

    With ``--executor ray`` the judging and embedding run in chunks on a Ray cluster (the
    same taxonomy as locally).
    """
    from taskforge.domains import get_domain
    from taskforge.env.evaluator import Evaluator
    from taskforge.executors import executor_settings, open_executor
    from taskforge.mining.pipeline import mine as run_mining
    from taskforge.mining.stages import build_stages
    from taskforge.warehouse import Warehouse

    dom = get_domain(domain)
    evaluator = Evaluator(dom.toolkit_cls, dom.load_db(db_path)) if db_path else None
    settings = executor_settings(executor, ray_address, workers)
    with open_executor(settings) as ex, Warehouse.open(warehouse) as wh:
        stages = build_stages(
            wh, dom.toolkit_cls, judge, embedder, labeler, min_cluster_size, config, ex
        )
        with console.status("mining: judging, embedding, clustering, labeling"):
            result = run_mining(
                wh,
                stages,
                runs,
                round_,
                evaluator,
                config={
                    "judge": judge,
                    "embedder": embedder,
                    "labeler": labeler,
                    "min_cluster_size": min_cluster_size,
                },
            )
    summary = result.summary()
    if as_json:
        emit_json(summary)
    else:
        _print(summary)


def _print(summary: dict[str, Any]) -> None:
    span = summary.get("domain_span") or {}
    domains = span.get("domains") or []
    table = Table(
        "pattern", "size", *(domains if len(domains) > 1 else []), "lineage", "quarantined"
    )
    for p in sorted(summary["patterns"], key=lambda p: -p["size"]):
        shares = p.get("domains") or {}
        cells = (
            [
                f"{shares[d]['count']} ({shares[d]['share']:.0%})" if d in shares else "0"
                for d in domains
            ]
            if len(domains) > 1
            else []
        )
        table.add_row(
            p["name"], str(p["size"]), *cells, p["lineage_id"], "yes" if p["quarantined"] else ""
        )
    console.print(table)
    console.print(
        f"taxonomy v{summary['version']} ({summary['taxonomy_id']}): {summary['n_failures']} "
        f"failures, {summary['n_patterns']} patterns, {summary['n_quarantined']} quarantined",
        soft_wrap=True,
    )
    if span.get("score") is not None:
        console.print(
            f"span score {span['score']}: {span['n_spanning_failures']} of "
            f"{span['n_failures']['all']} agent failures in {span['n_spanning_patterns']} "
            f"patterns where each of {', '.join(domains)} holds >= {span['min_share']:.0%}",
            soft_wrap=True,
        )
