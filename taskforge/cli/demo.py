"""``taskforge demo``: what exists so far, end to end and offline, on the project's own data."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from taskforge.cli.common import JSON_OPTION, console, emit_json
from taskforge.contracts import Message, Task, TerminationReason
from taskforge.env.audit import audit_summary, audit_task
from taskforge.env.bench import gold_messages, run_env_bench
from taskforge.env.db import Database
from taskforge.env.domains import Domain, get_domain
from taskforge.env.evaluator import Evaluator
from taskforge.rollout.prompts import GREETING

DEMO_DB = {"seed": 7, "users": 120, "orders": 240, "products": 24}
FAILURE_MODES_SQL = """
    SELECT mode, count(*) AS n
    FROM (SELECT unnest(from_json(error_modes, '["VARCHAR"]')) AS mode
          FROM trajectories WHERE run_id = ? AND reward < 1)
    GROUP BY mode ORDER BY n DESC, mode"""
STILL_TO_COME = [
    "synthesis: targeted tasks with certificates (issue 6)",
    "rewards + verl GRPO adapter (issue 7)",
    "exports (Hugging Face, tau2), pools, taskforge loop (issue 8)",
]


def demo(
    out: Path = typer.Option(Path("taskforge-demo"), "--out", help="Folder for the artifacts."),
    n_tasks: int = typer.Option(24, "--tasks", min=1, help="Seed tasks to sample."),
    trials: int = typer.Option(4, "--trials", min=1, help="Rollout trials per task."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Run every stage built so far, offline, and say where each artifact is."""
    out.mkdir(parents=True, exist_ok=True)
    dom = get_domain("retail")
    steps: dict[str, Any] = {}
    db = _step_db(dom, out, steps)
    tasks = _step_tasks(db, out, n_tasks, steps)
    _step_audit(dom, db, tasks, steps)
    _step_evaluate(dom, db, tasks, steps)
    _step_rollout(out, steps, trials)
    _step_mine(dom, out, steps)
    with console.status("[6/6] timing evaluation against a naive baseline"):
        steps["bench"] = run_env_bench(dom.toolkit_cls, db, tasks, seconds=0.3)
    report = {"out": str(out), "steps": steps, "still_to_come": STILL_TO_COME}
    (out / "demo_report.json").write_text(json.dumps(report, indent=2) + "\n")
    if as_json:
        emit_json(report)
    else:
        _print_summary(report)


def _step_db(dom: Domain, out: Path, steps: dict[str, Any]) -> Database:
    from taskforge.env.domains.retail.generate import generate_db, write_db

    console.print("[1/6] generating a synthetic Retail DB")
    data = generate_db(DEMO_DB["seed"], DEMO_DB["users"], DEMO_DB["orders"], DEMO_DB["products"])
    path = out / "retail_db.json"
    write_db(data, path)
    db = dom.database_cls.from_dict(data, source=str(path))
    steps["db"] = {"path": str(path), "hash": db.hash, **{t: len(r) for t, r in db.tables.items()}}
    return db


def _step_tasks(db: Database, out: Path, n: int, steps: dict[str, Any]) -> list[Task]:
    from taskforge.synthesis.seed import sample_seed_tasks

    console.print(f"[2/6] sampling {n} naive seed tasks grounded in the DB")
    tasks = sample_seed_tasks(db, n=n, seed=DEMO_DB["seed"])
    path = out / "seed_tasks.json"
    dumped = [t.model_dump(mode="json", exclude_none=True) for t in tasks]
    path.write_text(json.dumps(dumped, indent=2, ensure_ascii=False) + "\n")
    steps["tasks"] = {"path": str(path), "n": len(tasks)}
    return tasks


def _step_audit(dom: Domain, db: Database, tasks: list[Task], steps: dict[str, Any]) -> None:
    console.print("[3/6] auditing gold actions and scoring gold-replay vs do-nothing episodes")
    steps["audit"] = audit_summary([audit_task(dom.toolkit_cls, db, t) for t in tasks])


def _step_evaluate(dom: Domain, db: Database, tasks: list[Task], steps: dict[str, Any]) -> None:
    """Sanity bounds of the evaluator: the gold actions replayed score 1, doing nothing 0."""
    evaluator = Evaluator(dom.toolkit_cls, db)
    stop = TerminationReason.USER_STOP
    nothing = [Message(role="assistant", content=GREETING)]
    gold = [evaluator.evaluate(t, gold_messages(dom.toolkit_cls, db, t), stop) for t in tasks]
    idle = [evaluator.evaluate(t, nothing, stop) for t in tasks]
    steps["evaluate"] = {
        "gold_mean_reward": sum(r.reward for r in gold) / len(gold),
        "do_nothing_mean_reward": sum(r.reward for r in idle) / len(idle),
    }


def _step_rollout(out: Path, steps: dict[str, Any], trials: int) -> None:
    from taskforge.rollout.api import RolloutRequest, run_rollout
    from taskforge.warehouse import Warehouse

    console.print(
        f"[4/6] rolling out the scripted policy against the scripted user, {trials} trials per "
        "task (offline simulations, through LiteLLM), into the warehouse"
    )
    request = RolloutRequest(
        tasks_path=Path(steps["tasks"]["path"]),
        db_path=Path(steps["db"]["path"]),
        trials=trials,
        out_dir=out / "rollouts",
        warehouse=out / "taskforge.duckdb",
        concurrency=4,
    )
    result = run_rollout(request)
    with Warehouse.open(request.warehouse, read_only=True) as wh:
        modes = wh.query(FAILURE_MODES_SQL, [result["run_id"]]).to_dicts()
    steps["rollout"] = {**result, "error_modes_in_failures": {m["mode"]: m["n"] for m in modes}}


def _step_mine(dom: Domain, out: Path, steps: dict[str, Any]) -> None:
    from taskforge.mining.pipeline import mine
    from taskforge.mining.report import render_report
    from taskforge.mining.stages import build_stages
    from taskforge.warehouse import Warehouse

    console.print("[5/6] mining the failures: diagnostic judge -> MiniLM -> HDBSCAN -> keywords")
    with Warehouse.open(steps["rollout"]["warehouse"]) as wh:
        stages = build_stages(wh, dom.toolkit_cls, min_cluster_size=2)
        result = mine(wh, stages, runs=[steps["rollout"]["run_id"]], config={"demo": True})
        html = render_report(wh, result.taxonomy.taxonomy_id)
    report = out / "report.html"
    report.write_text(html, encoding="utf-8")
    steps["mine"] = {**result.summary(), "report": str(report)}


def _pass_k(values: dict[Any, Any]) -> str:
    return ", ".join(f"pass^{k} {v:.2f}" for k, v in values.items() if v is not None)


def _print_summary(report: dict[str, Any]) -> None:
    s = report["steps"]
    bench, r, m = s["bench"], s["rollout"], s["mine"]
    console.print(
        f"\n[bold]done[/]  artifacts in {report['out']}/\n"
        f"  DB           {s['db']['path']}  "
        f"({s['db']['users']} users, {s['db']['orders']} orders)\n"
        f"  seed tasks   {s['tasks']['path']}  ({s['tasks']['n']} tasks)\n"
        f"  audit        {s['audit']['n_gold_errors']} gold errors, "
        f"{s['audit']['n_tasks_db_unchanged']} read-only tasks\n"
        f"  evaluation   gold episodes {s['evaluate']['gold_mean_reward']:.2f}, "
        f"do-nothing {s['evaluate']['do_nothing_mean_reward']:.2f}\n"
        f"  rollout      {r['episodes_played']} episodes (scripted policy vs scripted user): "
        f"{_pass_k(r['pass_k'])}\n"
        f"               failures by injected error mode: {r['error_modes_in_failures']}\n"
        f"  warehouse    {r['warehouse']}  (shard {r['shard']})\n"
        f"  taxonomy     v{m['version']}: {m['n_failures']} failures, {m['n_patterns']} "
        "patterns: "
        + "; ".join(f"{p['name']} ({p['size']})" for p in m["patterns"])
        + f"\n  HTML report  {m['report']}\n"
        f"  speed        {bench['taskforge']['evals_per_sec']:,.0f} evals/s, "
        f"x{bench['speedup']['evals']:,} vs naive\n"
        f"  JSON report  {report['out']}/demo_report.json\n"
        "still to come:\n  - " + "\n  - ".join(report["still_to_come"]) + "\n"
        "try next:\n"
        f'  taskforge sql --warehouse {r["warehouse"]} "SELECT * FROM tool_error_rates"\n'
        f"  taskforge tasks audit {s['tasks']['path']} --db {s['db']['path']}",
        soft_wrap=True,
    )
