"""``taskforge demo --local``: one loop round with a real model on this machine, then training.

SmolLM2-135M-Instruct (the ``local`` extra) plays every LLM role through the local server:
policy and user in the rollouts, judge and labeler in mining, writer in synthesis. The
``trl-cpu`` trainer runs a few GRPO steps on the round's pool with the RewardSpec as reward,
and the trained checkpoint, served as a GGUF file, plays the same tasks with the same seeds
again (the re-evaluation): pass^1 before and after, as measured.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from taskforge.cli.common import console, emit_json
from taskforge.cli.demo import _step_db, _step_report, _step_tasks, stage_line
from taskforge.contracts.io import write_atomic
from taskforge.domains import get_domain

LOCAL_DEMO: dict[str, Any] = {
    "tasks": 10,
    "trials": 2,
    "max_steps": 6,
    "max_tokens": {"policy": 96, "user": 64},
    "families": ["multi_order", "multi_write"],
    "n_per_family": 2,
    "train_steps": 2,
}
"""The local demo's sizes: 10 tasks x 2 trials of at most 6 messages (3 user and 2 policy
turns, replies capped), 4 written tasks (the model writes them; their blueprints come from the
offline samplers, not the LLM explorer), 2 GRPO steps: near 20 minutes on 2 cores."""


def run_local_demo(out: Path, n_tasks: int, trials: int, as_json: bool) -> None:
    """Generate the DB and tasks, serve the model, run the round and train, re-evaluate."""
    from taskforge.cli.rollout import ProgressBar, episode_progress
    from taskforge.llm.local import LocalServer, ServerOptions, free_port

    out.mkdir(parents=True, exist_ok=True)
    steps: dict[str, Any] = {}
    db = _step_db(get_domain("retail"), out, steps)
    _step_tasks(db, out, n_tasks, steps)
    options = ServerOptions(port=free_port())
    with console.status(f"[3/6] starting the local model server on {options.api_base}"):
        server = LocalServer(options, log_path=out / "local-server.log").start()
    try:
        llm_config = _write_llm_config(out, server.api_base)
        with episode_progress() as progress:
            bar = ProgressBar(progress)
            steps["loop"] = _loop(out, steps, llm_config, trials, bar)
            steps["reevaluate"] = _reevaluate(out, steps, llm_config, trials, bar)
    finally:
        server.stop()
    _step_report(out, steps, "[6/6]")
    report = {"out": str(out), "steps": steps}
    write_atomic(out / "demo_report.json", json.dumps(report, indent=2) + "\n")
    if as_json:
        emit_json(report)
    else:
        _print_summary(report)


def _write_llm_config(out: Path, api_base: str) -> Path:
    """The packaged local config on this server's port, cached under the demo folder."""
    from taskforge.llm.local import local_llm_config

    path = out / "llm.local.yaml"
    data = local_llm_config(api_base, cache_dir=out / "llm-cache")
    for role, cap in LOCAL_DEMO["max_tokens"].items():
        data[role]["max_tokens"] = cap
    del data["explorer"]  # blueprints from the offline samplers: exploring costs 30 turns each
    write_atomic(path, yaml.safe_dump(data, sort_keys=False))
    return path


def _loop(out: Path, steps: dict[str, Any], llm_config: Path, trials: int, bar: Any) -> Any:
    from taskforge.loop import load_loop_config, run_loop

    console.print(
        "[4/6] one loop round with SmolLM2-135M in every role: rollout (policy and user) -> "
        "mine (LLM judge and labeler) -> synthesize (LLM writer) -> verify -> pool -> train "
        f"(trl-cpu, {LOCAL_DEMO['train_steps']} GRPO steps)"
    )
    config = load_loop_config(
        None, name="demo-local", rounds=1, trials=trials, db=steps["db"]["path"],
        seed_tasks=steps["tasks"]["path"], llm_config=str(llm_config), concurrency=1,
        max_steps=LOCAL_DEMO["max_steps"], exports=["hf"], trainer="trl-cpu",
        mining={"judge": "llm", "labeler": "llm"},
        synthesis={"families": LOCAL_DEMO["families"], "n_per_pattern": LOCAL_DEMO["n_per_family"]},
        training={"rollout_n": 4, "batch_size": 2, "steps": LOCAL_DEMO["train_steps"],
                  "max_completion_tokens": 64},
    )  # fmt: skip

    return run_loop(config, out / "taskforge.duckdb", out / "loop", stage_line, progress=bar)


def _reevaluate(
    out: Path, steps: dict[str, Any], llm_config: Path, trials: int, bar: Any
) -> dict[str, Any]:
    """The seed tasks again, same trials and seeds, with the trained policy (the user unchanged)."""
    from taskforge.llm.local import serve_policy
    from taskforge.loop.records import stage_outputs
    from taskforge.rollout.api import RolloutRequest, run_rollout

    loop = steps["loop"]
    trained = stage_outputs(Path(loop["warehouse"]), loop["loop_id"], 1, "train") or {}
    if not trained.get("policy_model"):
        reason = trained.get("details", {}).get("policy_model_error", "no trained policy")
        return {"status": "skipped", "reason": reason}
    console.print("[5/6] re-evaluating: the trained policy on the same tasks and seeds")
    where = out / "reevaluate"
    with serve_policy(Path(trained["policy_model"]), llm_config, where) as config:
        request = RolloutRequest(
            tasks_path=Path(steps["tasks"]["path"]), db_path=Path(steps["db"]["path"]),
            trials=trials, config_path=config, concurrency=1, out_dir=where / "rollouts",
            max_steps=LOCAL_DEMO["max_steps"], warehouse=Path(loop["warehouse"]), round=2,
        )  # fmt: skip
        result = run_rollout(request, on_start=bar.start, on_episode=bar.step)
    after = {str(k): v for k, v in result.pop("pass_k").items()}
    return {"status": "done", "before": loop["rounds"][0]["pass_k"], "after": after, **result}


def _print_summary(report: dict[str, Any]) -> None:
    from taskforge.cli.loop import print_rounds

    s = report["steps"]
    print_rounds(s["loop"])
    again = s["reevaluate"]
    if again["status"] == "done":
        line = (
            f"re-evaluation: pass^1 {again['before']['1']:.3f} before training, "
            f"{again['after']['1']:.3f} after (same tasks, trials and seeds)"
        )
    else:
        line = f"re-evaluation: skipped ({again['reason']})"
    console.print(
        f"[bold]done[/]  artifacts in {report['out']}/\n{line}\n"
        f"  warehouse    {s['loop']['warehouse']}\n  HTML report  {s['report']['path']}\n"
        f"  JSON summary {report['out']}/demo_report.json",
        soft_wrap=True,
    )
