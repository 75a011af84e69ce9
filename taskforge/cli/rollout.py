"""``taskforge rollout``: play agent x user over tasks, k trials, into the warehouse."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from taskforge.cli.common import DOMAIN_OPTION, JSON_OPTION, WAREHOUSE_OPTION, console, emit_json
from taskforge.cli.tools import TOOL_SCHEMAS_OPTION


def rollout(
    tasks_path: Path = typer.Option(..., "--tasks", help="tasks.json (tau2 layout or ours)."),
    db_path: Path | None = typer.Option(None, "--db", help="DB JSON (default: bundled DB)."),
    trials: int = typer.Option(4, "--trials", min=1, help="Trials per task (k)."),
    config: Path | None = typer.Option(
        None, "--config", help="LLM config YAML (default: the offline scripted agents)."
    ),
    concurrency: int = typer.Option(4, "--concurrency", min=1, help="Episodes in flight."),
    split: str | None = typer.Option(
        None, "--split", help="Only tasks of this split (split_tasks.json beside the tasks)."
    ),
    limit: int | None = typer.Option(None, "--limit", min=1, help="Only the first N tasks."),
    seed: int = typer.Option(0, "--seed", help="Base seed; each (task, trial) derives its own."),
    out: Path = typer.Option(Path("rollouts"), "--out", help="Folder for the JSONL shards."),
    max_steps: int = typer.Option(200, "--max-steps", min=2, help="Messages per episode."),
    tool_schemas: Path | None = TOOL_SCHEMAS_OPTION,
    warehouse: Path | None = WAREHOUSE_OPTION,
    domain: str = DOMAIN_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Run the policy against the user simulator; resumable (a rerun plays only what is missing)."""
    from taskforge.rollout.api import RolloutRequest, run_rollout

    request = RolloutRequest(
        tasks_path=tasks_path,
        db_path=db_path,
        trials=trials,
        config_path=config,
        concurrency=concurrency,
        split=split,
        limit=limit,
        seed=seed,
        out_dir=out,
        max_steps=max_steps,
        tool_schemas=tool_schemas,
        warehouse=warehouse,
        domain=domain,
    )
    with _progress() as progress:
        bar = progress.add_task("episodes", total=None, rate="-")
        tally = {"n": 0, "ok": 0}

        def on_start(total: int) -> None:
            progress.update(bar, total=total)

        def on_episode(reward: float) -> None:
            tally["n"] += 1
            tally["ok"] += reward >= 1 - 1e-6
            progress.update(bar, advance=1, rate=f"{tally['ok'] / tally['n']:.2f}")

        result = run_rollout(request, on_start=on_start, on_episode=on_episode)
    if as_json:
        emit_json(result)
        return
    pass_k = ", ".join(f"pass^{k} {v:.3f}" for k, v in result["pass_k"].items() if v is not None)
    console.print(
        f"run {result['run_id']}: {result['episodes_played']} episodes played "
        f"({result['episodes_resumed']} already done), {pass_k}\n"
        f"shard {result['shard']} -> warehouse {result['warehouse']}",
        soft_wrap=True,
    )


def _progress() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("success so far {task.fields[rate]}"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )
