"""``taskforge rollout``: play agent x user over tasks, k trials, into the warehouse."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from taskforge.cli.common import DOMAIN_OPTION, JSON_OPTION, WAREHOUSE_OPTION, console, emit_json
from taskforge.cli.executor_options import EXECUTOR_OPTION, RAY_ADDRESS_OPTION, WORKERS_OPTION
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
    executor: str = EXECUTOR_OPTION,
    ray_address: str | None = RAY_ADDRESS_OPTION,
    workers: int = WORKERS_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Run the policy against the user simulator; resumable (a rerun plays only what is missing)."""
    from taskforge.executors import executor_settings
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
        executor=executor_settings(executor, ray_address, workers),
    )
    with episode_progress() as progress:
        bar = ProgressBar(progress)
        result = run_rollout(request, on_start=bar.start, on_episode=bar.step)
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


class ProgressBar:
    """A progress bar of episodes (success rate so far) or other items; ``start`` resets it."""

    def __init__(self, progress: Progress, label: str = "episodes") -> None:
        self.progress = progress
        self.bar = progress.add_task(label, total=None, rate="-")
        self.n = self.ok = 0

    def start(self, total: int, label: str = "episodes") -> None:
        """A stage of ``total`` items begins (a rollout's episodes, failures to judge...)."""
        self.n = self.ok = 0
        self.progress.reset(self.bar, total=total, description=label, rate="-")

    def step(self, reward: float | None = None) -> None:
        """One item is done; an episode's ``reward`` updates the success rate."""
        self.n += 1
        if reward is not None:
            self.ok += reward >= 1 - 1e-6
            self.progress.update(self.bar, rate=f"{self.ok / self.n:.2f}")
        self.progress.update(self.bar, advance=1)


def episode_progress() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("success so far {task.fields[rate]}"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )
