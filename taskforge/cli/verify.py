"""``taskforge verify`` (also ``taskforge tasks verify``): certify the tasks of a file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from taskforge.cli.common import (
    DOMAIN_OPTION,
    JSON_OPTION,
    console,
    emit_json,
    track,
)
from taskforge.cli.executor_options import EXECUTOR_OPTION, RAY_ADDRESS_OPTION, WORKERS_OPTION
from taskforge.contracts.io import write_tasks


def verify(
    tasks_path: Path = typer.Argument(..., metavar="FILE", help="Tasks file (a JSON list)."),
    db_path: Path | None = typer.Option(None, "--db", help="DB JSON (default: bundled DB)."),
    out: Path | None = typer.Option(
        None, "--out", help="Write the accepted tasks, each with its certificate, here."
    ),
    rejected_path: Path | None = typer.Option(
        None, "--rejected", help="Write the rejected tasks, reasons as issues, here."
    ),
    warehouse: Path | None = typer.Option(
        None,
        "--warehouse",
        help="Store every verdict in this warehouse's verifications table.",
    ),
    config: Path | None = typer.Option(
        None, "--config", help="LLM config: check LLM-written scenarios against their gold."
    ),
    domain: str = DOMAIN_OPTION,
    executor: str = EXECUTOR_OPTION,
    ray_address: str | None = RAY_ADDRESS_OPTION,
    workers: int = WORKERS_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Certify tasks: gold replay, state change, do-nothing scores 0, targets identified."""
    from taskforge.contracts.io import load_tasks
    from taskforge.domains import get_domain
    from taskforge.executors import executor_settings, open_executor
    from taskforge.synthesis.records import certified, rejected
    from taskforge.synthesis.verify import verify_tasks
    from taskforge.synthesis.verify_batch import verify_on

    dom = get_domain(domain)
    tasks = load_tasks(tasks_path)
    db = dom.load_db(db_path)
    with open_executor(executor_settings(executor, ray_address, workers)) as ex:
        if ex.in_process:
            tracked = track(tasks, "verifying", total=len(tasks))
            verdicts = verify_tasks(tracked, dom.toolkit_cls, db, agreement=_agreement(config))
        else:
            with console.status(f"verifying {len(tasks)} tasks on {ex.workers()} Ray workers"):
                verdicts = verify_on(ex, tasks, domain, db, config)
    pairs = list(zip(tasks, verdicts, strict=True))
    if out is not None:
        write_tasks(out, [certified(t, v) for t, v in pairs if v.accepted])
    if rejected_path is not None:
        kept = [rejected(t, v.reasons, v.version) for t, v in pairs if not v.accepted]
        write_tasks(rejected_path, kept)
    summary = _summary(pairs)
    if warehouse is not None:
        summary["stored"] = _store(warehouse, pairs, domain)
    if as_json:
        emit_json({"tasks": [_row(v) for _, v in pairs], "summary": summary})
        return
    for _, v in pairs:
        if not v.accepted:
            console.print(f"[red]rejected[/] {v.task_id}: {'; '.join(v.reasons)}", soft_wrap=True)
    console.print(f"{summary['n_accepted']}/{summary['n_tasks']} tasks certified")


def _agreement(config: Path | None) -> Any:
    """The LLM agreement check of the config's judge role, or None without a config."""
    if config is None:
        return None
    from taskforge.llm.config import load_llm_config
    from taskforge.synthesis.agreement import agreement_check

    return agreement_check(load_llm_config(config))


def _store(path: Path, pairs: list[Any], domain: str) -> int:
    from taskforge.synthesis.records import store_verdicts
    from taskforge.warehouse import Warehouse

    with Warehouse.open(path) as wh:
        return store_verdicts(wh, pairs, domain)


def _summary(pairs: list[Any]) -> dict[str, Any]:
    n_accepted = sum(v.accepted for _, v in pairs)
    return {
        "n_tasks": len(pairs),
        "n_accepted": n_accepted,
        "acceptance_rate": round(n_accepted / len(pairs), 4) if pairs else None,
    }


def _row(verdict: Any) -> dict[str, Any]:
    row = {"task_id": verdict.task_id, "accepted": verdict.accepted, "reasons": verdict.reasons}
    if verdict.certificate is not None:
        row["certificate"] = verdict.certificate.model_dump(mode="json")
    return row


__all__ = ["verify"]
