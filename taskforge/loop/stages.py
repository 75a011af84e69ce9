"""The stages of one loop round, each a function ``(ctx, round) -> outputs`` (JSON-ready).

Order per round r >= 1: rollout the current policy on the pool of round r-1 -> mine its
failures -> synthesize targeted tasks for the mined patterns -> verify them again from the
stored file -> targeting check against naive tasks -> pool round r -> exports -> train ->
ingest the trainer's rollouts. Round 0 is the seed pool. Every stage writes its files under
``<out>/round-RR/`` atomically and its warehouse rows idempotently.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from taskforge.contracts import Lineage, Task
from taskforge.contracts.io import load_tasks, write_atomic, write_tasks
from taskforge.errors import DataError
from taskforge.loop.context import LoopContext

Stage = Callable[[LoopContext, int], dict[str, Any]]


def rollout(ctx: LoopContext, round_: int) -> dict[str, Any]:
    """Play the current policy on the previous round's pool, k trials, into the warehouse.

    When the previous round trained a policy the local server can serve (``policy_model``, a
    GGUF file), this round plays that checkpoint: the server starts for the rollout and the
    config's policy role points at it. The episodes run on the config's ``executor``.
    """
    from taskforge.rollout.api import RolloutRequest, run_rollout

    with _trained_policy(ctx, round_) as llm_config:
        request = RolloutRequest(
            tasks_path=Path(ctx.output(round_ - 1, "pool")["tasks_file"]),
            db_path=ctx.db_path, trials=ctx.config.trials, config_path=llm_config,
            concurrency=ctx.config.concurrency, seed=ctx.config.seed,
            max_steps=ctx.config.max_steps,
            out_dir=ctx.round_dir(round_) / "rollouts", warehouse=ctx.warehouse,
            domain=ctx.config.domain, round=round_, executor=ctx.config.executor,
        )  # fmt: skip
        bar = ctx.progress
        if bar is None:
            return run_rollout(request, executor=ctx.executor())
        return run_rollout(
            request, on_start=bar.start, on_episode=bar.step, executor=ctx.executor()
        )


@contextmanager
def _trained_policy(ctx: LoopContext, round_: int) -> Iterator[Path | None]:
    """The round's LLM config: the loop's, or with the policy on last round's checkpoint."""
    trained = ctx.outputs.get((round_ - 1, "train"), {}).get("policy_model")
    if not trained:
        yield ctx.config.llm_config
        return
    from taskforge.llm.local import serve_policy

    with serve_policy(Path(trained), ctx.config.llm_config, ctx.round_dir(round_)) as path:
        yield path


def mine(ctx: LoopContext, round_: int) -> dict[str, Any]:
    """Mine the round's failures into a taxonomy (reused if this round was mined already)."""
    from taskforge.mining.pipeline import mine as run_mine
    from taskforge.mining.stages import build_stages
    from taskforge.warehouse import Warehouse

    run_id = ctx.output(round_, "rollout")["run_id"]
    settings = ctx.config.mining
    with Warehouse.open(ctx.warehouse) as wh:
        taxonomy_id = _existing_taxonomy(wh, ctx.loop_id, round_)
        if taxonomy_id is None:
            stages = build_stages(
                wh,
                ctx.domain.toolkit_cls,
                judge=settings.judge,
                embedder=settings.embedder,
                labeler=settings.labeler,
                min_cluster_size=settings.min_cluster_size,
                llm_config=ctx.config.llm_config,
                executor=ctx.executor(),
            )
            config = {"loop_id": ctx.loop_id, "round": round_}
            result = run_mine(wh, stages, [run_id], round_, config=config, progress=ctx.progress)
            taxonomy_id = result.taxonomy.taxonomy_id
        return {"taxonomy_id": taxonomy_id, "patterns": _patterns(wh, taxonomy_id)}


def _existing_taxonomy(wh: Any, loop_id: str, round_: int) -> str | None:
    return wh.scalar(
        "SELECT taxonomy_id FROM taxonomies WHERE config->>'loop_id' = ? AND round = ? "
        "ORDER BY version DESC LIMIT 1",
        [loop_id, round_],
    )


def _patterns(wh: Any, taxonomy_id: str) -> list[dict[str, Any]]:
    """The taxonomy's patterns: id, name, size, dominant mechanism and member failures."""
    rows = wh.query(
        "SELECT p.pattern_id, p.name, p.size, p.quarantined, "
        "p.signature->'$.structured.mechanism'->>'value' AS mechanism, "
        "list(a.traj_uid ORDER BY a.traj_uid) AS failures "
        "FROM patterns p LEFT JOIN pattern_assignments a USING (pattern_id) "
        "WHERE p.taxonomy_id = ? GROUP BY ALL ORDER BY p.size DESC, p.pattern_id",
        [taxonomy_id],
    ).to_dicts()
    return [{**r, "failures": [f for f in r["failures"] if f is not None]} for r in rows]


def synthesize(ctx: LoopContext, round_: int) -> dict[str, Any]:
    """Targeted tasks for the mined patterns that a blueprint family can provoke."""
    from taskforge.registry import build
    from taskforge.synthesis.synthesize import synthesize as run_synthesis

    targets = _targets(ctx, ctx.output(round_, "mine")["patterns"])
    pool = load_tasks(Path(ctx.output(round_ - 1, "pool")["tasks_file"]))
    seed = ctx.config.seed * 1000 + round_
    roles = ctx.synthesis_roles(seed)
    report = run_synthesis(
        ctx.db,
        ctx.domain.toolkit_cls,
        sorted(targets),
        ctx.config.synthesis.n_per_pattern,
        seed,
        build("embedder", ctx.config.synthesis.embedder),
        reference_tasks=pool,
        writer=roles.writer,
        explorer=roles.explorer,
        agreement=roles.agreement,
        executor=ctx.executor(),
        domain=ctx.config.domain,
        config_path=ctx.config.llm_config,
    )
    patterns_of = ctx.domain.synthesis_kit().FAMILY_PATTERNS
    by_pattern = {patterns_of[family]: mined for family, mined in targets.items()}
    tasks = [_with_lineage(t, round_, by_pattern.get(t.pattern or "")) for t in report.accepted]
    path = ctx.round_dir(round_) / "targeted_tasks.json"
    write_tasks(path, tasks)
    summary = report.summary()
    rejected = ctx.round_dir(round_) / "rejected_candidates.json"
    write_atomic(rejected, _json(summary.pop("rejected")))
    sampled = sum(f["sampled"] for f in summary["families"].values())
    return {
        "tasks_file": str(path),
        "rejected_file": str(rejected),
        "n_sampled": sampled,
        "acceptance_rate": round(len(tasks) / sampled, 3) if sampled else None,
        **summary,
    }


def _targets(ctx: LoopContext, patterns: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Family -> the mined pattern it answers (the largest with the family's mechanism: its
    pattern's name, or one of the judge mechanisms the kit's ``PATTERN_MECHANISMS`` gives it)."""
    wanted = ctx.config.synthesis.families
    kit = ctx.domain.synthesis_kit()
    judged: dict[str, frozenset[str]] = getattr(kit, "PATTERN_MECHANISMS", {})
    targets: dict[str, dict[str, Any]] = {}
    for family, pattern in kit.FAMILY_PATTERNS.items():
        mechanisms = judged.get(pattern, frozenset({pattern}))
        mined = [p for p in patterns if p["mechanism"] in mechanisms and not p["quarantined"]]
        if (wanted is None and mined) or (wanted is not None and family in wanted):
            targets[family] = mined[0] if mined else {}
    return targets


def _with_lineage(task: Task, round_: int, pattern: dict[str, Any] | None) -> Task:
    base = task.lineage or Lineage()
    lineage = base.model_copy(
        update={
            "round": round_,
            "pattern_id": (pattern or {}).get("pattern_id"),
            "source_failures": (pattern or {}).get("failures", []),
        }
    )
    return task.model_copy(update={"lineage": lineage})


def _json(value: Any) -> str:
    import json

    return json.dumps(value, indent=2, ensure_ascii=False) + "\n"


def verify(ctx: LoopContext, round_: int) -> dict[str, Any]:
    """Certify the targeted tasks again from the stored file alone, on a freshly loaded DB,
    and store every verdict in the warehouse ``verifications`` table. The tasks are verified
    on the config's ``executor``."""
    from taskforge.synthesis.records import store_verdicts
    from taskforge.synthesis.verify_batch import verify_on
    from taskforge.warehouse import Warehouse

    tasks = load_tasks(Path(ctx.output(round_, "synthesize")["tasks_file"]))
    db = ctx.domain.load_db(ctx.db_path)
    config, seed = ctx.config.llm_config, ctx.config.seed
    verdicts = verify_on(ctx.executor(), tasks, ctx.config.domain, db, config, seed)
    with Warehouse.open(ctx.warehouse) as wh:
        store_verdicts(wh, list(zip(tasks, verdicts, strict=True)), ctx.config.domain)
    failed = {v.task_id: v.reasons for v in verdicts if not v.accepted}
    return {"n_tasks": len(tasks), "n_accepted": len(tasks) - len(failed), "rejected": failed}


def targeting(ctx: LoopContext, round_: int) -> dict[str, Any]:
    """Failure rates on the targeted tasks vs the seed tasks, and targeting precision."""
    from taskforge.synthesis.targeting import targeting_check

    targeted = load_tasks(Path(ctx.output(round_, "synthesize")["tasks_file"]))
    if not targeted:
        return {"patterns": {}, "note": "no targeted tasks this round"}
    naive = load_tasks(ctx.seed_tasks_path)
    return targeting_check(
        targeted, naive, ctx.db, ctx.domain.toolkit_cls, ctx.config.trials, ctx.config.seed
    )


def pool(ctx: LoopContext, round_: int) -> dict[str, Any]:
    """Round r of the pool (round 0: the seed tasks; then the certified targeted tasks), with
    the curriculum applied; writes the tasks the next round plays (RAFT: the union so far)."""
    from taskforge.pool import build_pool, select_pool
    from taskforge.warehouse import Warehouse

    if round_ == 0:
        new = load_tasks(ctx.seed_tasks_path)
    else:
        rejected = ctx.output(round_, "verify")["rejected"]
        targeted = load_tasks(Path(ctx.output(round_, "synthesize")["tasks_file"]))
        new = [t for t in targeted if t.id not in rejected]
    with Warehouse.open(ctx.warehouse) as wh:
        built = build_pool(
            wh, ctx.config.name, round_, new, ctx.config.curriculum,
            mode=ctx.pool_mode, domain=ctx.config.domain, command=ctx.command,
            config=ctx.config.model_dump(mode="json"), allow_empty=round_ > 0,
        )  # fmt: skip
        union, tasks = select_pool(wh, ctx.config.name, round_, union=True)
    path = ctx.round_dir(round_) / "pool_tasks.json"
    write_atomic(path, _json([t.to_json_dict() for t in tasks]))
    return {
        "tasks_file": str(path),
        "n_added": len(new),
        "n_round": len(built.active()),
        "n_total": len(tasks),
        "summary": union.summary(),
    }


def export(ctx: LoopContext, round_: int) -> dict[str, Any]:
    """The round's pool (RAFT: the union; on-policy: the round's own) in every configured form."""
    from taskforge.export import export_hf, export_tau2
    from taskforge.pool import select_pool
    from taskforge.rewards import load_spec
    from taskforge.warehouse import Warehouse

    with Warehouse.open(ctx.warehouse, read_only=True) as wh:
        pool_, tasks = select_pool(wh, ctx.config.name, round_, union=ctx.config.mode == "raft")
    spec_hash = load_spec(ctx.config.reward_spec).spec_hash()
    common: dict[str, Any] = {
        "command": ctx.command, "config": ctx.config.model_dump(mode="json"),
        "spec_hash": spec_hash,
    }  # fmt: skip
    written = {}
    for kind in ctx.config.exports:
        out = ctx.round_dir(round_) / "export" / kind
        if kind == "verl":
            result = _export_verl(ctx, pool_, tasks, out)
        else:
            exporter: Any = {"hf": export_hf, "tau2": export_tau2}[kind]
            result = exporter(pool_, tasks, ctx.db, out, **common)
        written[kind] = result.summary()
    return {"n_tasks": len(tasks), "exports": written}


def _export_verl(ctx: LoopContext, pool_: Any, tasks: list[Task], out: Path) -> Any:
    """The verl adapter's export (parquet, reward spec, configs), found by name in the
    registry (``trainer_exporter``); writing it needs no verl."""
    from taskforge.loop.trainer import load_exporter

    export = load_exporter("verl")
    return export(
        pool_,
        tasks,
        ctx.db,
        out,
        command=ctx.command,
        spec=ctx.config.reward_spec,
        seed=ctx.config.seed,
        user_config=ctx.config.llm_config,
    )


def train(ctx: LoopContext, round_: int) -> dict[str, Any]:
    """Train the policy on the round's pool with the configured trainer (found by name in the
    registry: ``verl``, ``trl-cpu``...); with no trainer configured, say so (never pretend)."""
    from taskforge.loop.trainer import TrainRequest, load_trainer

    if ctx.config.trainer == "none":
        return {
            "status": "skipped",
            "reason": "no trainer configured (trainer: none); the policy is unchanged between "
            "rounds",
        }
    previous = ctx.outputs.get((round_ - 1, "train"), {})
    request = TrainRequest(
        round=round_, mode=ctx.config.mode,
        tasks=_training_pool(ctx, round_),
        db_path=ctx.db_path, domain=ctx.config.domain, reward_spec=ctx.config.reward_spec,
        settings=ctx.config.training, run_dir=ctx.round_dir(round_) / "train",
        seed=ctx.config.seed * 1000 + round_,
        exports={k: ctx.round_dir(round_) / "export" / k for k in ctx.config.exports},
        init_checkpoint=previous.get("checkpoint") if ctx.config.mode == "on-policy" else None,
        llm_config=ctx.config.llm_config, command=ctx.command,
    )  # fmt: skip
    result = load_trainer(ctx.config.trainer)().train(request)
    return result.to_json()


def _training_pool(ctx: LoopContext, round_: int) -> list[Task]:
    """The round's pool as the exports hold it (RAFT: the union so far; on-policy: its own)."""
    from taskforge.pool import select_pool
    from taskforge.warehouse import Warehouse

    with Warehouse.open(ctx.warehouse, read_only=True) as wh:
        _, tasks = select_pool(wh, ctx.config.name, round_, union=ctx.config.mode == "raft")
    return tasks


def ingest(ctx: LoopContext, round_: int) -> dict[str, Any]:
    """Ingest the rollouts the trainer wrote (verl dumps, taskforge JSONL...) when it ran."""
    from taskforge.warehouse import get_adapter, ingest_paths, input_files

    trained = ctx.output(round_, "train")
    if trained["status"] != "done":
        return {"status": "skipped", "reason": f"training {trained['status']}: no rollouts"}
    files = new = 0
    for kind, where in trained.get("rollouts", []):
        rollouts = Path(where)
        if not rollouts.exists():
            raise DataError(f"{rollouts}: training finished but wrote no rollout data")
        adapter = get_adapter(kind)
        results = ingest_paths(ctx.warehouse, adapter, input_files(adapter, [rollouts]))
        files += len(results)
        new += sum(r.n_new for r in results)
    return {
        "status": "done",
        "rollouts": [where for _, where in trained.get("rollouts", [])],
        "files": files,
        "new_trajectories": new,
    }
