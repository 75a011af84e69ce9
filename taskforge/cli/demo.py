"""``taskforge demo``: the whole loop, offline, on the project's own data, in a few minutes.

Generate a DB of the domain (Retail by default; ``--domain airline``) -> sample seed tasks ->
audit them -> two rounds of ``taskforge loop`` (scripted policy vs scripted user -> mine ->
synthesize -> verify -> targeting -> pool -> Hugging Face, tau2 and verl exports; training is
skipped and says so) -> HTML report -> speed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from taskforge.cli.common import JSON_OPTION, console, emit_json
from taskforge.contracts import Message, Task, TerminationReason
from taskforge.contracts.io import write_atomic
from taskforge.domains import Domain, get_domain
from taskforge.env.audit import audit_summary, audit_task
from taskforge.env.bench import gold_messages, run_env_bench
from taskforge.env.db import Database
from taskforge.env.evaluator import Evaluator
from taskforge.errors import DataError
from taskforge.rollout.prompts import GREETING

DEMO_DB = {"seed": 7, "users": 120, "orders": 240, "products": 24}
"""The seed and sizes of the Retail demo's DB."""
DEMO_SIZES: dict[str, dict[str, int]] = {
    "retail": {k: v for k, v in DEMO_DB.items() if k != "seed"},
    "airline": {"users": 120, "reservations": 240, "flights": 60},
}
"""The generator's size arguments per domain (the seed is ``DEMO_DB["seed"]``)."""
DEMO_ROUNDS = 2


def demo(
    out: Path = typer.Option(Path("taskforge-demo"), "--out", help="Folder for the artifacts."),
    n_tasks: int | None = typer.Option(
        None, "--tasks", min=1, help="Seed tasks to sample (default 24; --local 10)."
    ),
    trials: int | None = typer.Option(
        None, "--trials", min=1, help="Rollout trials per task (default 4; --local 2)."
    ),
    rounds: int = typer.Option(DEMO_ROUNDS, "--rounds", min=1, help="Loop rounds (offline)."),
    local: bool = typer.Option(
        False,
        "--local",
        help="A real model (SmolLM2-135M, the local extra) in every LLM role, "
        "GRPO training on CPU (trl-cpu) and a re-evaluation of the trained policy.",
    ),
    domain: str = typer.Option(
        "retail", "--domain", help="Domain of the demo: retail (the default) or airline."
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """The whole loop offline, on a generated DB, and where each artifact is.

    Rerunning it resumes: finished loop stages are skipped, nothing lands twice.
    """
    if domain not in DEMO_SIZES:
        raise DataError(f"--domain {domain}: the demo runs on {', '.join(DEMO_SIZES)}")
    if local and domain != "retail":
        raise DataError("--local runs on Retail only; drop --domain or --local")
    if local:
        from taskforge.cli.demo_local import LOCAL_DEMO, run_local_demo

        n_local = n_tasks or LOCAL_DEMO["tasks"]
        run_local_demo(out, n_local, trials or LOCAL_DEMO["trials"], as_json)
        return
    n_tasks, trials = n_tasks or 24, trials or 4
    out.mkdir(parents=True, exist_ok=True)
    dom = get_domain(domain)
    steps: dict[str, Any] = {}
    db = _step_db(dom, out, steps)
    tasks = _step_tasks(db, out, n_tasks, steps)
    _step_audit(dom, db, tasks, steps)
    _step_evaluate(dom, db, tasks, steps)
    _step_loop(out, steps, trials, rounds, dom.name)
    _step_report(out, steps)
    with console.status("[6/6] timing evaluation against a naive baseline"):
        steps["bench"] = run_env_bench(dom.toolkit_cls, db, tasks, seconds=0.3)
    report = {"out": str(out), "steps": steps, "artifacts": _artifacts(out, steps)}
    write_atomic(out / "demo_report.json", json.dumps(report, indent=2) + "\n")
    if as_json:
        emit_json(report)
    else:
        _print_summary(report)


def _step_db(dom: Domain, out: Path, steps: dict[str, Any]) -> Database:
    generator = dom.generator_module()
    console.print(f"[1/6] generating a synthetic {dom.name.title()} DB")
    data = generator.generate_db(DEMO_DB["seed"], **DEMO_SIZES[dom.name])
    path = out / f"{dom.name}_db.json"
    generator.write_db(data, path)
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


def _step_loop(
    out: Path, steps: dict[str, Any], trials: int, rounds: int, domain: str = "retail"
) -> None:
    from taskforge.loop import load_loop_config, run_loop

    console.print(
        f"[4/6] {rounds} rounds of the loop: the scripted policy vs the scripted user "
        f"({trials} trials per task; offline simulations, through LiteLLM) -> mine the failures "
        "-> synthesize targeted tasks -> verify -> targeting check -> pool -> HF, tau2 and verl "
        "exports"
    )
    config = load_loop_config(
        None,
        name="demo",
        domain=domain,
        rounds=rounds,
        trials=trials,
        db=steps["db"]["path"],
        seed_tasks=steps["tasks"]["path"],
    )
    steps["loop"] = run_loop(config, out / "taskforge.duckdb", out / "loop", stage_line)


def stage_line(round_: int, stage: str, what: str) -> None:
    """Print a loop stage as it starts (or is found done), indented under the demo's step."""
    if what != "done":
        note = " (already done)" if what == "resumed" else ""
        console.print(f"      round {round_}: {stage}{note}")


def _step_report(out: Path, steps: dict[str, Any], label: str = "[5/6]") -> None:
    from taskforge.mining.report import render_report
    from taskforge.warehouse import Warehouse

    console.print(f"{label} writing the HTML report")
    with Warehouse.open(steps["loop"]["warehouse"], read_only=True) as wh:
        html = render_report(wh)
    path = out / "report.html"
    write_atomic(path, html)
    steps["report"] = {"path": str(path)}


def _artifacts(out: Path, steps: dict[str, Any]) -> dict[str, str]:
    """Where each artifact is (the exports are the last round's)."""
    last = Path(steps["loop"]["out"]) / f"round-{len(steps['loop']['rounds']):02d}" / "export"
    return {
        "db": steps["db"]["path"],
        "seed_tasks": steps["tasks"]["path"],
        "warehouse": steps["loop"]["warehouse"],
        "pool_tasks": steps["loop"]["pool_file"],
        "hf_dataset": str(last / "hf"),
        "tau2_tasks": str(last / "tau2"),
        "verl_export": str(last / "verl"),
        "report": steps["report"]["path"],
        "summary": str(out / "demo_report.json"),
    }


def _print_summary(report: dict[str, Any]) -> None:
    from taskforge.cli.loop import print_rounds

    s, a = report["steps"], report["artifacts"]
    bench = s["bench"]
    records = "orders" if "orders" in s["db"] else "reservations"
    print_rounds(s["loop"])
    lines = [
        f"[bold]done[/]  artifacts in {report['out']}/",
        f"  DB              {a['db']}  ({s['db']['users']} users, {s['db'][records]} {records})",
        f"  seed tasks      {a['seed_tasks']}  ({s['tasks']['n']} tasks, "
        f"{s['audit']['n_gold_errors']} gold errors; gold replay scores "
        f"{s['evaluate']['gold_mean_reward']:.2f}, doing nothing "
        f"{s['evaluate']['do_nothing_mean_reward']:.2f})",
        f"  warehouse       {a['warehouse']}",
        f"  task pool       {a['pool_tasks']}",
        f"  HF dataset      {a['hf_dataset']}  (datasets.load_dataset on this folder)",
        f"  tau2 task set   {a['tau2_tasks']}  (TAU2_DATA_DIR, see its README)",
        f"  verl export     {a['verl_export']}  (GRPO on a GPU machine: see its README)",
        f"  HTML report     {a['report']}",
        f"  speed           {bench['taskforge']['evals_per_sec']:,.0f} evaluations/s, "
        f"x{bench['speedup']['evals']:,} vs a naive baseline",
        f"  JSON summary    {a['summary']}",
        "training: skipped (no trainer configured offline); on a GPU machine the verl adapter "
        "trains on the exported pool (see trainer_adapters/verl).",
        "try next:",
        f'  taskforge sql --warehouse {a["warehouse"]} "SELECT * FROM loop_rounds"',
        f'  taskforge sql --warehouse {a["warehouse"]} "SELECT * FROM failure_rate_by_pattern"',
        f"  taskforge pool show --warehouse {a['warehouse']} --name demo --union",
        f"  taskforge rewards probe --spec raft --tasks {a['seed_tasks']} --db {a['db']}",
    ]
    console.print("\n".join(lines), soft_wrap=True)
