"""The rollout as one call: load, play (resumable, here or fanned out), ingest, report pass^k."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from taskforge.contracts import Run, Task, Trajectory
from taskforge.contracts.io import load_tasks, read_json
from taskforge.contracts.loop import ExecutorSettings
from taskforge.domains import Domain, get_domain
from taskforge.env.schema import load_schema_overrides
from taskforge.errors import DataError
from taskforge.executors import Executor, open_executor
from taskforge.rollout.episode import EpisodeRunner
from taskforge.rollout.runner import EpisodeHooks, RolloutPlan, make_run_id, play


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
    round: int | None = None
    executor: ExecutorSettings = field(default_factory=ExecutorSettings)


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
    executor: Executor | None = None,
) -> dict[str, Any]:
    """Play the rollout's missing episodes, ingest its shards, and summarise the run.

    Args:
        request: The rollout.
        on_start: Told the number of episodes (played or resumed) before any is played.
        on_episode: Told the reward of each episode as it is played (as each chunk lands,
            with an executor that leaves the process).
        executor: Where the episodes run; None opens the one ``request.executor`` names.
            The local executor plays in this process into one shard (``<run_id>.jsonl``);
            any other plays chunks into the run's folder of shards (``<run_id>/``), see
            :mod:`taskforge.rollout.chunks`.
    """
    from taskforge.llm import load_llm_config

    dom = get_domain(request.domain)
    tasks = select_tasks(request.tasks_path, request.split, request.limit)
    if not tasks:
        raise DataError(f"{request.tasks_path}: no tasks to play")
    db = dom.load_db(request.db_path)
    config = load_llm_config(request.config_path)
    plan = _plan(request, tasks, db, config)
    if on_start is not None:
        on_start(len(tasks) * request.trials)
    with _executor(request, executor) as ex:
        if ex.in_process and not chunk_folder(plan).exists():
            shard, n_played = play_here(request, plan, db, config, on_episode)
            files = [shard]
        else:
            from taskforge.rollout.chunks import play_chunks

            shard, n_played = play_chunks(request, plan, ex, on_episode)
            files = shard_files(shard)
    return _ingest_and_summarise(request, plan, shard, files, n_played, ex.name)


def chunk_folder(plan: RolloutPlan) -> Path:
    """The run's folder of chunk shards (``<out>/<run_id>/``), used once a run fans out."""
    return plan.out_dir / plan.run.run_id


def shard_files(path: Path) -> list[Path]:
    """A shard, or the complete shards in a folder of shards (sorted; none if it is absent)."""
    from taskforge.warehouse import get_adapter

    return get_adapter("jsonl").files(path) if path.exists() else []


@contextmanager
def _executor(request: RolloutRequest, given: Executor | None) -> Iterator[Executor]:
    """The executor given (left open), or the one the request names (closed afterwards)."""
    if given is not None:
        yield given
        return
    with open_executor(request.executor) as executor:
        yield executor


def play_here(
    request: RolloutRequest,
    plan: RolloutPlan,
    db: Any,
    config: Any,
    on_episode: Callable[[float], None] | None = None,
) -> tuple[Path, int]:
    """Play the plan's missing episodes in this process; its complete shard and how many."""
    from taskforge.rewards.nl_judge import nl_judge_from_config
    from taskforge.rollout.offline_agents import register_scripted_agents

    dom = get_domain(request.domain)
    register_scripted_agents()
    rewards: list[float] = []
    hooks = _hooks(db, config, rewards, on_episode)
    nl_judge = nl_judge_from_config(config, use_cache=request.cache)  # None: judge is offline
    runner = EpisodeRunner(dom.toolkit_cls, db, *_clients(config, request), nl_judge=nl_judge)
    tools = _tools(dom, request.tool_schemas)
    shard = asyncio.run(play(plan, runner, dom, tools, request.concurrency, hooks))
    return shard, len(rewards)


def _clients(config: Any, request: RolloutRequest) -> tuple[Any, Any]:
    """Agent and user clients, each with the rollout's concurrency."""
    from taskforge.llm import LLMClient

    def client(name: str, role: Any) -> Any:
        return LLMClient(
            role, config.cache_dir, request.concurrency, name=name, use_cache=request.cache
        )

    return client("policy", config.policy), client("user", config.user)


def _hooks(
    db: Any, config: Any, rewards: list[float], on_episode: Callable[[float], None] | None
) -> EpisodeHooks:
    """Per-episode context for the offline agents, and the reward tally."""
    from taskforge.llm.offline import end_episode, register_episode

    context = {"db": db, "error_rates": config.policy.extra.get("error_rates")}

    def done(traj: Trajectory) -> None:
        rewards.append(traj.reward_info.reward if traj.reward_info else 0.0)
        if on_episode is not None:
            on_episode(rewards[-1])

    return EpisodeHooks(
        register=lambda s: register_episode(
            s.episode_id, {**context, "task": s.task, "seed": s.seed}
        ),
        unregister=lambda s: end_episode(s.episode_id),
        on_episode=done,
    )


def _ingest_and_summarise(
    request: RolloutRequest,
    plan: RolloutPlan,
    shard: Path,
    files: list[Path],
    n_played: int,
    executor: str,
) -> dict[str, Any]:
    from taskforge.warehouse import Warehouse, get_adapter, ingest_paths

    ingest_paths(request.warehouse, get_adapter("jsonl"), files)  # landed ones are skipped
    with Warehouse.open(request.warehouse, read_only=True) as wh:
        rows = wh.query("SELECT * FROM pass_k_run WHERE run_id = ?", [plan.run.run_id]).to_dicts()
        where = str(wh.path)
    stats = rows[0] if rows else {}
    total = len(plan.tasks) * plan.trials
    return {
        "run_id": plan.run.run_id,
        "shard": str(shard),
        "warehouse": where,
        "episodes_played": n_played,
        "episodes_resumed": total - n_played,
        "n_tasks": len(plan.tasks),
        "trials": plan.trials,
        "pass_k": {k: stats.get(f"pass_{k}") for k in range(1, 5)},
        "executor": executor,
    }


def _plan(request: RolloutRequest, tasks: list[Task], db: Any, config: Any) -> RolloutPlan:
    from taskforge import __version__

    roles = {
        "policy": config.policy.model_dump(mode="json"),
        "user": config.user.model_dump(mode="json"),
    }
    if not config.judge.is_offline:  # it decides the NL assertions, so the rewards
        roles["judge"] = config.judge.model_dump(mode="json")
    run_id = make_run_id(tasks, db, roles, request.trials, request.seed, request.round)
    run = Run(
        run_id=run_id,
        source="taskforge",
        agent_model=config.policy.model,
        user_model=config.user.model,
        domain=request.domain,
        env_version=__version__,
        round=request.round,
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
