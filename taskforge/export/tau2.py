"""tau2 export: a task set in tau2-bench's own data layout, which tau2's runner loads.

``OUT/tau2/domains/<domain>/`` gets ``tasks.json`` (tau2's task JSON: taskforge's extra fields
are left out, they stay in the manifest), ``split_tasks.json`` (tau2's split file: ``base``
holds every task, plus the configured splits), ``db.json`` and ``policy.md``; ``OUT/README.md``
says how to point tau2 at it (``TAU2_DATA_DIR=OUT``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from taskforge.contracts import Task, TaskPool
from taskforge.env.db import Database
from taskforge.errors import DataError
from taskforge.export.common import (
    ExportResult,
    assign_splits,
    check_db,
    check_splits,
    export_folder,
    pair_tasks,
    tau2_json,
    write_db,
)
from taskforge.export.manifest import write_manifest

TAU2_SPLITS = {"train": 0.9, "test": 0.1}
TAU2_TASK_FIELDS = (
    "id",
    "description",
    "user_scenario",
    "ticket",
    "initial_state",
    "evaluation_criteria",
    "issues",
    "required_documents",
    "user_tools",
)
"""Fields of tau2's Task model; taskforge's own (origin, pattern, lineage, certificate,
schema_version) are not written to tasks.json."""


def tau2_task(task: Task) -> dict[str, Any]:
    """A task as tau2's tasks.json holds it."""
    data = task.to_json_dict()
    return {k: data[k] for k in TAU2_TASK_FIELDS if k in data}


_README = """# taskforge pool `{name}` (round {round}, {mode}) as a tau2-bench task set

{n} tasks for tau2's `{domain}` domain, in tau2's own data layout:

| file | what |
| --- | --- |
| `tau2/domains/{domain}/tasks.json` | the tasks (tau2's task JSON) |
| `tau2/domains/{domain}/split_tasks.json` | splits: {splits} |
| `tau2/domains/{domain}/db.json` | the DB the tasks run on (hash `{db_hash}`) |
| `tau2/domains/{domain}/policy.md` | the agent policy ({policy}) |
| `taskforge_export.json` | lineage of every task, config, command, file hashes |

## Run with tau2's own runner

`TAU2_DATA_DIR` makes tau2 read its data folder from here instead of its bundled one:

```bash
TAU2_DATA_DIR="$PWD/{out_name}" tau2 run --domain {domain} --task-split-name base \\
    --agent-llm gpt-4.1 --user-llm gpt-4.1 --num-trials 4
```

Use `--task-split-name {first}` for one split. While `TAU2_DATA_DIR` is set only the
`{domain}` domain has data; to keep tau2's other domains, copy the four files over tau2's
`data/tau2/domains/{domain}/` instead (back them up first). To evaluate under tau2's own policy
wording, replace `policy.md` with tau2's.

Results come back into taskforge with `taskforge ingest tau2 <results>` (the tasks are matched
by content, so their lineage in the warehouse stays attached).
"""


def export_tau2(
    pool: TaskPool,
    tasks: Sequence[Task],
    db: Database,
    out: Path,
    splits: Mapping[str, float] = TAU2_SPLITS,
    seed: int = 0,
    *,
    policy: str | None = None,
    command: str | None = None,
    config: Mapping[str, Any] | None = None,
    spec_hash: str | None = None,
) -> ExportResult:
    """Write the pool's active tasks to ``out`` in tau2's layout (``out`` is replaced whole).

    ``policy`` defaults to the domain's own policy document. Same inputs, byte-identical files.
    """
    from taskforge.domains import get_domain

    if "base" in splits:
        raise DataError("split name 'base' is reserved: tau2's 'base' split holds every task")
    pairs = pair_tasks(pool, tasks)
    check_db(pairs, db)
    by_split = assign_splits(pairs, check_splits(splits), seed)
    split_ids = {s: [t.id for _, t in p] for s, p in by_split.items()}
    split_ids["base"] = [t.id for _, t in pairs]
    settings = {"splits": dict(splits), "seed": seed, **(config or {})}
    extra = {
        "db_hash": db.hash,
        "spec_hash": spec_hash,
        "split_counts": {s: len(ids) for s, ids in split_ids.items()},
        "renamed_ids": {e.task_uid: t.id for e, t in pairs if t.id != e.task_id},
    }
    with export_folder(out) as tmp:
        root = tmp / "tau2" / "domains" / pool.domain
        root.mkdir(parents=True)
        (root / "tasks.json").write_text(tau2_json([tau2_task(t) for _, t in pairs]), "utf-8")
        (root / "split_tasks.json").write_text(tau2_json(split_ids), "utf-8")
        write_db(root / "db.json", db)
        own = get_domain(pool.domain).policy
        (root / "policy.md").write_text(policy if policy is not None else own, "utf-8")
        readme = _README.format(
            name=pool.name,
            round=pool.round,
            mode=pool.mode,
            n=len(pairs),
            domain=pool.domain,
            splits=", ".join(f"{s} ({len(ids)})" for s, ids in split_ids.items()),
            db_hash=db.hash,
            policy="taskforge's own" if policy is None else "given at export",
            out_name=out.name,
            first=next(iter(splits)),
        )
        (tmp / "README.md").write_text(readme, "utf-8")
        manifest = write_manifest(tmp, pool, command, settings, extra, exporter="tau2")
    return ExportResult(out, manifest)
