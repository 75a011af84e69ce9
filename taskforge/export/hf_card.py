"""The dataset card (README.md) of a Hugging Face export: YAML metadata, then what the tasks
are, how they were made, counts per pattern and split, certificate coverage, the columns and
how to reproduce the export."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import yaml

from taskforge.contracts import TaskPool
from taskforge.export.common import Pair
from taskforge.export.hf_schema import JSON, columns

_SIZES = [(1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M")]

_ORIGINS = {
    "targeted": "synthesized for a failure pattern: a blueprint sampler found a grounded "
    "situation in the DB, the gold actions were built and executed first, then a writer "
    "worded the user's scenario with the pattern's difficulty in it",
    "explorer": "found by an exploring agent whose successful trajectory became the gold",
    "seed": "naive seed tasks sampled from the DB (no injected difficulty)",
    "naive": "naive tasks sampled from the DB (no injected difficulty)",
    "tau2": "tau2-bench's own tasks",
    "manual": "written by hand",
    "unknown": "origin not recorded",
}


def size_category(n: int) -> str:
    """Hugging Face's size category for ``n`` rows."""
    return next((label for limit, label in _SIZES if n < limit), "n>1M")


def card_metadata(
    pool: TaskPool, split_counts: Mapping[str, int], split_bytes: Mapping[str, int], license_: str
) -> dict[str, Any]:
    """The card's YAML front matter (configs with data_files, so load_dataset(DIR) works)."""
    kept = [s for s in split_counts if split_counts[s]]
    return {
        "license": license_,
        "pretty_name": f"taskforge pool {pool.name} (round {pool.round})",
        "task_categories": ["text-generation", "reinforcement-learning"],
        "tags": ["agents", "tool-use", "tau2-bench", pool.domain, "synthetic", "taskforge"],
        "size_categories": [size_category(sum(split_counts.values()))],
        "configs": [
            {
                "config_name": "default",
                "data_files": [{"split": s, "path": f"data/{s}-*.parquet"} for s in kept],
            }
        ],
        "dataset_info": {
            "config_name": "default",
            "features": [c.yaml() for c in columns()],
            "splits": [
                {"name": s, "num_bytes": split_bytes[s], "num_examples": split_counts[s]}
                for s in kept
            ],
        },
    }


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    lines += ["| " + " | ".join(str(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def _pattern_table(splits: Mapping[str, Sequence[Pair]]) -> str:
    counts = {s: Counter(e.pattern or "none" for e, _ in pairs) for s, pairs in splits.items()}
    patterns = sorted(set().union(*counts.values()))
    rows = [
        [p, *(counts[s][p] for s in splits), sum(c[p] for c in counts.values())] for p in patterns
    ]
    return _table(["pattern", *splits, "total"], rows)


def _origins(pairs: Sequence[Pair]) -> str:
    by = Counter((e.origin or "unknown", e.generator or "-") for e, _ in pairs)
    rows = [[o, g, n, _ORIGINS.get(o, "")] for (o, g), n in sorted(by.items())]
    return _table(["origin", "generator", "tasks", "how"], rows)


def _certificates(pairs: Sequence[Pair]) -> str:
    n = len(pairs)
    certified = sum(e.has_certificate for e, _ in pairs)
    with_failures = sum(bool(e.source_failures) for e, _ in pairs)
    return (
        f"{certified} of {n} tasks ({certified / n:.0%}) carry a feasibility certificate: "
        "their gold actions replay on a fresh DB with no tool error, the end state differs "
        "from the start, a do-nothing episode scores 0 and the gold episode 1, and the records "
        "the gold actions touch follow from what the scenario says. "
        f"{with_failures} tasks name the failed trajectories they were made from "
        "(`source_failures`)."
    )


def _curriculum(pool: TaskPool) -> str:
    if pool.curriculum is None:
        return "No curriculum: every candidate task is offered."
    status = Counter((e.status, (e.reason or "").split(":")[0]) for e in pool.entries)
    rows = [[s, r or "-", n] for (s, r), n in sorted(status.items())]
    settings = json.dumps(pool.curriculum.model_dump(mode="json"), sort_keys=True)
    return f"Settings: `{settings}`\n\n" + _table(["status", "reason", "tasks"], rows)


def _columns() -> str:
    rows = [
        [f"`{c.name}`", "string (JSON)" if c.kind == JSON else c.kind, c.description]
        for c in columns()
    ]
    return _table(["column", "type", "description"], rows)


_LOADING = """```python
import json
from datasets import load_dataset

ds = load_dataset("{where}")
row = ds["{split}"][0]
scenario = json.loads(row["user_scenario"])        # JSON columns hold nested structures
gold = json.loads(row["evaluation_criteria"])["actions"]

from taskforge.export.hf_schema import row_to_task  # back to taskforge's Task contract
task = row_to_task(row)
```"""


def render_card(
    pool: TaskPool,
    splits: Mapping[str, Sequence[Pair]],
    split_bytes: Mapping[str, int],
    reproduce: Mapping[str, Any],
    license_: str = "mit",
) -> str:
    """The README.md text."""
    counts = {s: len(p) for s, p in splits.items()}
    meta = card_metadata(pool, counts, split_bytes, license_)
    pairs = [p for ps in splits.values() for p in ps]
    first = next((s for s in splits if counts[s]), "train")
    empty = [s for s in splits if not counts[s]]
    body = [
        f"# {meta['pretty_name']}",
        f"{len(pairs)} tool-use tasks for the tau2-bench-compatible `{pool.domain}` domain, "
        f"exported by taskforge from pool `{pool.name}` (round {pool.round}, mode {pool.mode}). "
        "Each row is one task: the simulated user's scenario, the gold actions whose replay on "
        "`db.json` defines the expected end state, and the reward basis (tau2 semantics: the "
        "reward is the product of the DB check and the other listed checks).",
        "## How the tasks were made\n\n" + _origins(pairs),
        "## Tasks per failure pattern and split\n\n"
        + _pattern_table(splits)
        + (f"\n\nEmpty splits (no file): {', '.join(empty)}." if empty else ""),
        "## Certificates and lineage\n\n" + _certificates(pairs),
        "## Curriculum\n\n" + _curriculum(pool),
        "## Columns\n\n" + _columns(),
        "## Loading\n\n" + _LOADING.format(where="path/or/repo_id", split=first),
        "## Files\n\n- `data/<split>-*.parquet`: the tasks\n- `db.json`: the DB the tasks run on "
        "(tau2's JSON format)\n- `taskforge_export.json`: the pool with every entry's lineage, "
        "the config and command, and the SHA-256 of every file",
        "## Reproduce\n\n```json\n" + json.dumps(reproduce, indent=2, sort_keys=True) + "\n```",
    ]
    front = yaml.safe_dump(meta, sort_keys=False, allow_unicode=True)
    return f"---\n{front}---\n\n" + "\n\n".join(body) + "\n"
