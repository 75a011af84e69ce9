"""Verification candidates: synthesized tasks of every family, some of them made to fail."""

from __future__ import annotations

from taskforge.contracts import Task
from taskforge.domains import get_domain
from taskforge.registry import build
from taskforge.synthesis.blueprints import family_patterns
from taskforge.synthesis.synthesize import synthesize

DOM = get_domain("retail")


def candidates(n_per_family: int = 15, corrupt_every: int = 4) -> list[Task]:
    """Synthesized candidates of every family; every ``corrupt_every``-th one has a gold
    write's argument changed, so that the verifier rejects it."""
    db = DOM.load_db()
    report = synthesize(
        db,
        DOM.toolkit_cls,
        sorted(family_patterns(db)),
        n_per_family,
        0,
        build("embedder", "hashing"),
    )
    tasks = list({t.id: t for t, _ in report.verdicts}.values())
    return [_corrupt(t) if i % corrupt_every == 0 else t for i, t in enumerate(tasks)]


def _corrupt(task: Task) -> Task:
    data = task.model_dump(mode="json")
    actions = data["evaluation_criteria"]["actions"]
    write = next(a for a in reversed(actions) if DOM.toolkit_cls.specs[a["name"]].mutates)
    key = sorted(write["arguments"])[0]
    write["arguments"][key] = "not-what-the-scenario-says"
    return Task.model_validate(data)
