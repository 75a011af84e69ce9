"""``taskforge demo``: what exists so far, end to end and offline, on the project's own data."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from taskforge.cli.common import JSON_OPTION, console, emit_json
from taskforge.contracts import Message, Run, Task, TerminationReason, Trajectory
from taskforge.env.audit import audit_summary, audit_task
from taskforge.env.bench import gold_messages, run_env_bench
from taskforge.env.db import Database
from taskforge.env.domains import Domain, get_domain
from taskforge.env.evaluator import Evaluator

DEMO_DB = {"seed": 7, "users": 120, "orders": 240, "products": 24}
STILL_TO_COME = [
    "rollout: LiteLLM policy + simulated user, scripted offline providers (issue 4)",
    "mining: judge -> embed -> cluster -> taxonomy (issue 5)",
    "synthesis: targeted tasks with certificates (issue 6)",
    "rewards + verl GRPO adapter (issue 7)",
    "exports (Hugging Face, tau2), pools, taskforge loop (issue 8)",
]


def demo(
    out: Path = typer.Option(Path("taskforge-demo"), "--out", help="Folder for the artifacts."),
    n_tasks: int = typer.Option(24, "--tasks", min=1, help="Seed tasks to sample."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Run every stage built so far, offline, and say where each artifact is."""
    out.mkdir(parents=True, exist_ok=True)
    dom = get_domain("retail")
    steps: dict[str, Any] = {}
    db = _step_db(dom, out, steps)
    tasks = _step_tasks(db, out, n_tasks, steps)
    _step_audit(dom, db, tasks, steps)
    episodes = _step_evaluate(dom, db, tasks, steps)
    _step_warehouse(out, tasks, episodes, steps)
    with console.status("[5/5] timing evaluation against a naive baseline"):
        steps["bench"] = run_env_bench(dom.toolkit_cls, db, tasks, seconds=0.3)
    report = {"out": str(out), "steps": steps, "still_to_come": STILL_TO_COME}
    (out / "demo_report.json").write_text(json.dumps(report, indent=2) + "\n")
    if as_json:
        emit_json(report)
    else:
        _print_summary(report)


def _step_db(dom: Domain, out: Path, steps: dict[str, Any]) -> Database:
    from taskforge.env.domains.retail.generate import generate_db, write_db

    console.print("[1/5] generating a synthetic Retail DB")
    data = generate_db(DEMO_DB["seed"], DEMO_DB["users"], DEMO_DB["orders"], DEMO_DB["products"])
    path = out / "retail_db.json"
    write_db(data, path)
    db = dom.database_cls.from_dict(data, source=str(path))
    steps["db"] = {"path": str(path), "hash": db.hash, **{t: len(r) for t, r in db.tables.items()}}
    return db


def _step_tasks(db: Database, out: Path, n: int, steps: dict[str, Any]) -> list[Task]:
    from taskforge.synthesis.seed import sample_seed_tasks

    console.print(f"[2/5] sampling {n} naive seed tasks grounded in the DB")
    tasks = sample_seed_tasks(db, n=n, seed=DEMO_DB["seed"])
    path = out / "seed_tasks.json"
    dumped = [t.model_dump(mode="json", exclude_none=True) for t in tasks]
    path.write_text(json.dumps(dumped, indent=2, ensure_ascii=False) + "\n")
    steps["tasks"] = {"path": str(path), "n": len(tasks)}
    return tasks


def _step_audit(dom: Domain, db: Database, tasks: list[Task], steps: dict[str, Any]) -> None:
    console.print("[3/5] auditing gold actions and scoring gold-replay vs do-nothing episodes")
    steps["audit"] = audit_summary([audit_task(dom.toolkit_cls, db, t) for t in tasks])


def _step_evaluate(
    dom: Domain, db: Database, tasks: list[Task], steps: dict[str, Any]
) -> list[Trajectory]:
    """Two scripted episodes per task, scored for real: the gold actions replayed, and nothing.

    Neither is a model: they bound the reward from above and below until rollout lands.
    """
    evaluator = Evaluator(dom.toolkit_cls, db)
    stop = TerminationReason.USER_STOP
    nothing = [Message(role="assistant", content="Hi! How can I help you today?")]
    episodes = []
    for task in tasks:
        for name, messages in (
            ("gold", gold_messages(dom.toolkit_cls, db, task)),
            ("nothing", nothing),
        ):
            info = evaluator.evaluate(task, messages, stop)
            episodes.append(
                Trajectory(
                    id=f"{task.id}-{name}",
                    task_id=task.id,
                    trial=0 if name == "gold" else 1,
                    termination_reason=stop,
                    messages=messages,
                    reward_info=info,
                )
            )
    rewards = {
        name: [e.reward_info.reward for e in episodes if e.id.endswith(name) and e.reward_info]
        for name in ("gold", "nothing")
    }
    steps["evaluate"] = {
        "gold_mean_reward": sum(rewards["gold"]) / len(rewards["gold"]),
        "do_nothing_mean_reward": sum(rewards["nothing"]) / len(rewards["nothing"]),
    }
    return episodes


def _step_warehouse(
    out: Path, tasks: list[Task], episodes: list[Trajectory], steps: dict[str, Any]
) -> None:
    from taskforge.warehouse import ShardWriter, Warehouse, get_adapter, ingest_paths

    console.print("[4/5] writing the episodes as a JSONL shard and ingesting it into DuckDB")
    run = Run(
        run_id="demo-scripted-episodes",
        source="taskforge-demo",
        round=0,
        agent_model="gold-replay / do-nothing (scripted, not a model)",
    )
    shard = out / "shards" / "demo-0.jsonl"
    with ShardWriter(shard) as writer:
        writer.run(run)
        for task in tasks:
            writer.task(run.run_id, task)
        for episode in episodes:
            writer.trajectory(run.run_id, episode)
    path = out / "taskforge.duckdb"
    ingest_paths(path, get_adapter("jsonl"), [shard])
    with Warehouse.open(path, read_only=True) as wh:
        pass_k = wh.query("SELECT pass_1, pass_2 FROM pass_k_run").to_dicts()[0]
        counts = wh.counts()
    steps["warehouse"] = {
        "path": str(path),
        "shard": str(shard),
        **pass_k,
        "trajectories": counts["trajectories"],
        "tool_calls": counts["tool_calls"],
    }


def _print_summary(report: dict[str, Any]) -> None:
    s = report["steps"]
    bench, w = s["bench"], s["warehouse"]
    console.print(
        f"\n[bold]done[/]  artifacts in {report['out']}/\n"
        f"  DB           {s['db']['path']}  "
        f"({s['db']['users']} users, {s['db']['orders']} orders)\n"
        f"  seed tasks   {s['tasks']['path']}  ({s['tasks']['n']} tasks)\n"
        f"  audit        {s['audit']['n_gold_errors']} gold errors, "
        f"{s['audit']['n_tasks_db_unchanged']} read-only tasks\n"
        f"  evaluation   gold episodes {s['evaluate']['gold_mean_reward']:.2f}, "
        f"do-nothing {s['evaluate']['do_nothing_mean_reward']:.2f}\n"
        f"  warehouse    {w['path']}  ({w['trajectories']} trajectories, "
        f"pass^1 {w['pass_1']:.2f}, pass^2 {w['pass_2']:.2f})\n"
        f"  speed        {bench['taskforge']['evals_per_sec']:,.0f} evals/s, "
        f"x{bench['speedup']['evals']:,} vs naive\n"
        f"  report       {report['out']}/demo_report.json\n"
        "still to come:\n  - " + "\n  - ".join(report["still_to_come"]) + "\n"
        "try next:\n"
        f'  taskforge sql --warehouse {w["path"]} "SELECT * FROM pass_k_task"\n'
        f"  taskforge tasks audit {s['tasks']['path']} --db {s['db']['path']}",
        soft_wrap=True,
    )
