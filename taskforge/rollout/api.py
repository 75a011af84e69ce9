"""The rollout as one call: load, play (resumable), ingest, and report pass^k."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from taskforge.contracts import Run, Task
from taskforge.contracts.io import load_tasks, read_json
from taskforge.env.domains import Domain, get_domain
from taskforge.env.schema import load_schema_overrides
from taskforge.errors import DataError
from taskforge.rollout.episode import EpisodeRunner, EpisodeSpec
from taskforge.rollout.runner import RolloutPlan, make_run_id, play


@dataclass
class RolloutRequest:
    """A rollout as the command line states it."""

    tasks_path: Path
    db_path: Path | None = None
    trials: int = 4
    config_path: Path | None = None
    concurrency: int = 4
    split: str | None = None
    limit: int | None = None
    seed: int = 0
    out_dir: Path = Path("rollouts")
    max_steps: int = 200
    tool_schemas: Path | None = None
    warehouse: Path | None = None
    domain: str = "retail"
    cache: bool = True


def select_tasks(path: Path, split: str | None, limit: int | None) -> list[Task]:
    """Tasks from a file, optionally one split of it (tau2's split_tasks.json beside it)."""
    tasks = load_tasks(path)
    if split is not None:
        split_file = path.parent / "split_tasks.json"
        splits = read_json(split_file)
        if not isinstance(splits, dict) or split not in splits:
            raise DataError(f"{split_file}: field {split}: no such split")
        wanted = {str(i) for i in splits[split]}
        tasks = [t for t in tasks if t.id in wanted]
    return tasks[:limit] if limit is not None else tasks


def _tools(domain: Domain, overrides: Path | None) -> list[dict[str, Any]]:
    if overrides is None:
        return domain.toolkit_cls.openai_schemas()
    return load_schema_overrides(overrides, domain.toolkit_cls.specs)


def run_rollout(
    request: RolloutRequest,
    on_start: Callable[[int], None] | None = None,
    on_episode: Callable[[float], None] | None = None,
) -> dict[str, Any]:
    """Play the rollout's missing episodes, ingest its shard, and summarise the run."""
    from taskforge.llm import LLMClient, load_llm_config
    from taskforge.llm.offline import end_episode, register_episode
    from taskforge.rollout.offline_agents import register_scripted_agents
    from taskforge.warehouse import Warehouse, get_adapter, ingest_paths

    dom = get_domain(request.domain)
    tasks = select_tasks(request.tasks_path, request.split, request.limit)
    if not tasks:
        raise DataError(f"{request.tasks_path}: no tasks to play")
    db = dom.load_db(request.db_path)
    config = load_llm_config(request.config_path)
    register_scripted_agents()
    plan = _plan(request, tasks, db, config)
    cache = config.cache_dir if request.cache else None
    agent = LLMClient(config.policy, cache_dir=cache, concurrency=request.concurrency)
    user = LLMClient(config.user, cache_dir=cache, concurrency=request.concurrency)
    runner = EpisodeRunner(dom.toolkit_cls, db, agent, user)
    context = {"db": db, "error_rates": config.policy.extra.get("error_rates")}

    def register(spec: EpisodeSpec) -> None:
        register_episode(spec.episode_id, {**context, "task": spec.task, "seed": spec.seed})

    def unregister(spec: EpisodeSpec) -> None:
        end_episode(spec.episode_id)

    todo_total = len(tasks) * request.trials
    if on_start is not None:
        on_start(todo_total)
    played: list[float] = []

    def episode_done(traj: Any) -> None:
        reward = traj.reward_info.reward if traj.reward_info else 0.0
        played.append(reward)
        if on_episode is not None:
            on_episode(reward)

    shard = asyncio.run(
        play(
            plan,
            runner,
            dom,
            _tools(dom, request.tool_schemas),
            request.concurrency,
            episode_done,
            register,
            unregister,
        )
    )
    ingest_paths(request.warehouse, get_adapter("jsonl"), [shard])
    with Warehouse.open(request.warehouse, read_only=True) as wh:
        row = wh.query("SELECT * FROM pass_k_run WHERE run_id = ?", [plan.run.run_id]).to_dicts()
        where = str(wh.path)
    stats = row[0] if row else {}
    return {
        "run_id": plan.run.run_id,
        "shard": str(shard),
        "warehouse": where,
        "episodes_played": len(played),
        "episodes_resumed": todo_total - len(played),
        "n_tasks": len(tasks),
        "trials": request.trials,
        "pass_k": {k: stats.get(f"pass_{k}") for k in range(1, 5)},
    }


def _plan(request: RolloutRequest, tasks: list[Task], db: Any, config: Any) -> RolloutPlan:
    from taskforge import __version__

    roles = {
        "policy": config.policy.model_dump(mode="json"),
        "user": config.user.model_dump(mode="json"),
    }
    run_id = make_run_id(tasks, db, roles, request.trials, request.seed)
    run = Run(
        run_id=run_id,
        source="taskforge",
        agent_model=config.policy.model,
        user_model=config.user.model,
        domain=request.domain,
        env_version=__version__,
        created_at=datetime.now(timezone.utc).isoformat(),
        config={
            "llm": roles,
            "trials": request.trials,
            "seed": request.seed,
            "tasks": str(request.tasks_path),
            "split": request.split,
            "db_hash": db.hash,
            "max_steps": request.max_steps,
        },
    )
    return RolloutPlan(
        tasks=tasks,
        trials=request.trials,
        seed=request.seed,
        out_dir=request.out_dir,
        run=run,
        max_steps=request.max_steps,
    )
