"""``taskforge loop``: rounds of rollout -> mine -> synthesize -> verify -> targeting -> pool ->
export -> train -> ingest, each stage recorded in the warehouse and skipped on a rerun once done.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from taskforge.contracts.loop import LoopConfig
from taskforge.loop import stages
from taskforge.loop.context import LoopContext, StageProgress
from taskforge.loop.records import now, record_stage, stage_outputs

ROUND_STAGES: list[tuple[str, stages.Stage]] = [
    ("rollout", stages.rollout),
    ("mine", stages.mine),
    ("synthesize", stages.synthesize),
    ("verify", stages.verify),
    ("targeting", stages.targeting),
    ("pool", stages.pool),
    ("export", stages.export),
    ("train", stages.train),
    ("ingest", stages.ingest),
]
"""The stages of rounds 1..N, in order (round 0 is the seed pool alone)."""

Event = Callable[[int, str, str], None]
"""Progress callback: (round, stage, "start" | "resumed" | "done")."""


def run_loop(
    config: LoopConfig,
    warehouse: Path,
    out: Path,
    on_event: Event | None = None,
    progress: StageProgress | None = None,
) -> dict[str, Any]:
    """Run (or resume) every round of the loop; returns the per-round summary.

    ``on_event`` hears each stage start and end; ``progress`` each rollout episode and each
    judged failure.
    """
    from taskforge.loop.summary import summarise

    out.mkdir(parents=True, exist_ok=True)
    ctx = LoopContext(config=config, warehouse=warehouse, out=out, progress=progress)
    _stage(ctx, 0, "pool", stages.pool, on_event)
    for round_ in range(1, config.rounds + 1):
        try:
            for name, stage in ROUND_STAGES:
                _stage(ctx, round_, name, stage, on_event)
        finally:
            ctx.close_executor()  # one cluster a round, shut down at its end
    return summarise(ctx)


def _stage(
    ctx: LoopContext, round_: int, name: str, stage: stages.Stage, on_event: Event | None
) -> None:
    done = stage_outputs(ctx.warehouse, ctx.loop_id, round_, name)
    if done is not None:
        ctx.outputs[(round_, name)] = done
        _emit(on_event, round_, name, "resumed")
        return
    _emit(on_event, round_, name, "start")
    started = now()
    outputs = stage(ctx, round_)
    ctx.outputs[(round_, name)] = record_stage(
        ctx.warehouse, ctx.loop_id, ctx.config_hash, round_, name, outputs, started
    )
    _emit(on_event, round_, name, "done")


def _emit(on_event: Event | None, round_: int, name: str, what: str) -> None:
    if on_event is not None:
        on_event(round_, name, what)
