"""``taskforge bench synthesis``: verified tasks per second and acceptance rate, with a baseline.

* **taskforge**: the targeted pipeline (blueprint samplers, or the LLM explorer; template or
  LLM writer; verifier; dedup) on every registered family.
* **baseline, unguided candidates**: as many candidates made without grounding: a random
  write tool on a random order of a random user, with random arguments (any reason, address,
  item, variant, payment method of the user), worded by the same template writer and judged
  by the same verifier. It is what synthesis costs without samplers that query the DB for
  feasible, determinable situations.

Both are timed in the same run on the same DB. With an LLM config, the LLM roles' calls and
tokens are reported per accepted task.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from typing import Any

from taskforge.contracts import Task
from taskforge.domains import domain_of
from taskforge.env.db import Database
from taskforge.env.evaluator import Evaluator
from taskforge.env.toolkit import Toolkit
from taskforge.synthesis.blueprints import Blueprint
from taskforge.synthesis.verify import verify_task
from taskforge.synthesis.writer import TemplateWriter


def unguided_blueprint(db: Database, rng: random.Random) -> Blueprint | None:
    """One ungrounded candidate of the DB's domain (None when it cannot be worded)."""
    return domain_of(db).synthesis_kit().unguided_blueprint(db, rng)


def run_unguided(
    db: Database, toolkit_cls: type[Toolkit], n: int, seed: int
) -> tuple[list[Task], Counter[str]]:
    """``n`` unguided candidates worded and verified: the accepted ones, and the rejections'
    first reasons (ids and values masked) by count."""
    rng, writer = random.Random(f"unguided:{seed}"), TemplateWriter(seed)
    evaluator = Evaluator(toolkit_cls, db)
    accepted, reasons = [], Counter[str]()
    made = 0
    for _ in range(n * 20):
        if made >= n:
            break
        bp = unguided_blueprint(db, rng)
        if bp is None:
            continue
        task = writer.write(bp, f"unguided_{made:04d}")
        made += 1
        verdict = verify_task(task, toolkit_cls, db, evaluator)
        if verdict.accepted:
            accepted.append(task)
        else:
            reasons[_mask(verdict.reasons[0])] += 1
    return accepted, reasons


def _mask(reason: str) -> str:
    import re

    return re.sub(r"#W\d+|\d{4,}|\[[^\]]*\]|\([^)]*\)", "…", reason)[:90]


def run_synthesis_bench(
    db: Database,
    toolkit_cls: type[Toolkit],
    n: int,
    seed: int,
    embedder: Any,
    roles: Any = None,
) -> dict[str, Any]:
    """Time the targeted pipeline and the unguided baseline on ``db`` (see the module doc)."""
    from taskforge.synthesis.synthesize import synthesize

    families = list(domain_of(db).synthesis_kit().SAMPLERS)
    start = time.perf_counter()
    report = synthesize(
        db,
        toolkit_cls,
        families,
        n,
        seed,
        embedder,
        writer=getattr(roles, "writer", None),
        explorer=getattr(roles, "explorer", None),
        agreement=getattr(roles, "agreement", None),
    )
    ours_s = time.perf_counter() - start
    candidates = sum(c["sampled"] for c in report.per_family.values())
    start = time.perf_counter()
    base_accepted, reasons = run_unguided(db, toolkit_cls, candidates, seed)
    base_s = time.perf_counter() - start
    ours = _figures(candidates, len(report.accepted), ours_s)
    base = _figures(candidates, len(base_accepted), base_s)
    base["top_rejections"] = dict(reasons.most_common(5))
    ours["families"] = report.summary()["families"]
    return {
        "taskforge": ours,
        "baseline_unguided": base,
        "ratio": {
            key: round(ours[key] / base[key], 2) if base[key] else None
            for key in ("acceptance_rate", "verified_tasks_per_s")
        },
        "llm": _llm(roles, len(report.accepted)),
    }


def _figures(candidates: int, accepted: int, seconds: float) -> dict[str, Any]:
    return {
        "candidates": candidates,
        "accepted": accepted,
        "acceptance_rate": round(accepted / candidates, 3) if candidates else 0.0,
        "seconds": round(seconds, 3),
        "verified_tasks_per_s": round(accepted / seconds, 2) if seconds else 0.0,
    }


def _llm(roles: Any, accepted: int) -> dict[str, Any] | None:
    if roles is None or not getattr(roles, "clients", ()):
        return None
    usage: dict[str, Any] = roles.usage()
    usage["tokens_per_accepted_task"] = (
        round(usage["llm_tokens"] / accepted, 1) if accepted else None
    )
    return usage


__all__ = ["run_synthesis_bench", "run_unguided", "unguided_blueprint"]
