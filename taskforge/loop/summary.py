"""The per-round summary of a loop: pass^k, failures per pattern, tasks added, acceptance."""

from __future__ import annotations

from typing import Any

from taskforge.loop.context import LoopContext


def round_row(ctx: LoopContext, round_: int) -> dict[str, Any]:
    """One round's figures, from the outputs of its stages."""
    rollout = ctx.output(round_, "rollout")
    mined = ctx.output(round_, "mine")
    return {
        "round": round_,
        "run_id": rollout["run_id"],
        "episodes": rollout["n_tasks"] * rollout["trials"],
        "pass_k": rollout["pass_k"],
        "failures_by_pattern": {
            p["name"]: p["size"] for p in mined["patterns"] if not p["quarantined"]
        },
        "quarantined_failures": sum(p["size"] for p in mined["patterns"] if p["quarantined"]),
        "tasks_added": ctx.output(round_, "pool")["n_added"],
        "pool_size": ctx.output(round_, "pool")["n_total"],
        "acceptance_rate": ctx.output(round_, "synthesize")["acceptance_rate"],
        "targeting": {
            name: {
                "failure_rate_targeted": row["failure_rate_targeted"],
                "targeting_precision": row["targeting_precision"],
                "targeting_precision_new": row.get("targeting_precision_new"),
            }
            for name, row in ctx.output(round_, "targeting").get("patterns", {}).items()
        },
        "train": ctx.output(round_, "train")["status"],
    }


def summarise(ctx: LoopContext) -> dict[str, Any]:
    """The loop's summary: its id, where things are, and one row per round."""
    return {
        "loop_id": ctx.loop_id,
        "warehouse": str(ctx.warehouse),
        "out": str(ctx.out),
        "mode": ctx.config.mode,
        "rounds": [round_row(ctx, r) for r in range(1, ctx.config.rounds + 1)],
        "pool_file": ctx.output(ctx.config.rounds, "pool")["tasks_file"],
    }
