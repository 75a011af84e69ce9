"""``bench mining``: the mined taxonomy against the failure benchmark's known labels, beside a
simple baseline measured in the same run (clustering on tool-call n-grams).

:func:`run_mining_bench` mines the whole benchmark with the offline diagnostic judge;
:func:`run_judge_bench` runs an LLM judge on a stratified sample and scores its explanations
beside the diagnostic judge's on the same sample.
"""

from __future__ import annotations

import asyncio
import random
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from taskforge.contracts import RewardInfo, Task, Trajectory
from taskforge.contracts.judgment import Judgment
from taskforge.mining.failure_bench import BENCH_RUN_ID, score

_LABELS_SQL = """
    SELECT a.judgment_id, p.signature->>'cluster' AS cluster, a.is_outlier, p.quarantined,
           t.error_modes->>0 AS label, j.traj_uid, r.domain
    FROM assignments a JOIN patterns p USING (pattern_id) JOIN judgments j USING (judgment_id)
    JOIN trajectories t USING (traj_uid) LEFT JOIN runs r ON r.run_id = t.run_id
    WHERE a.taxonomy_id = ? ORDER BY j.traj_uid"""


def _baseline(wh: Any, uids: list[str], labels: list[str], k: int) -> dict[str, Any]:
    """KMeans on TF-IDF of each failure's tool-call name bigrams, with the mined k."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    from taskforge.mining.cluster import KMeansClusterer

    rows = wh.con.execute(
        "SELECT traj_uid, string_agg(name, ' ' ORDER BY msg_idx, call_idx) FROM tool_calls "
        "WHERE traj_uid IN (SELECT unnest(?::VARCHAR[])) GROUP BY traj_uid",
        [uids],
    ).fetchall()
    calls = dict(rows)
    docs = [calls.get(uid) or "none" for uid in uids]
    start = time.perf_counter()
    matrix = TfidfVectorizer(ngram_range=(1, 2), token_pattern=r"\S+").fit_transform(docs)
    result = KMeansClusterer(max(2, k)).fit(matrix.toarray().astype("float32"))
    seconds = time.perf_counter() - start
    return {
        **score(labels, list(result.nearest), [False] * len(labels)),
        "seconds": round(seconds, 3),
    }


def run_mining_bench(
    bench: Path | Sequence[Path],
    embedder: str = "minilm",
    min_cluster_size: int = 10,
    limit: int | None = None,
) -> dict[str, Any]:
    """Ingest the benchmark shards into a fresh warehouse, mine them together, and score.

    Every failure is judged by its run's domain's judge; the taxonomy is scored on all
    failures together and on each domain's alone, and its span score says how many failures
    lie in patterns that mix the domains.

    Args:
        bench: One benchmark shard, or several (one per domain).
        embedder: Embedder name (the registry's).
        min_cluster_size: HDBSCAN's.
        limit: Keep only the first ``limit`` failures of each label of each shard (a quick run).
    """
    from taskforge.domains import get_domain
    from taskforge.mining.pipeline import mine
    from taskforge.mining.stages import build_stages
    from taskforge.warehouse import Warehouse, get_adapter, ingest_paths

    shards = [bench] if isinstance(bench, Path) else list(bench)
    with tempfile.TemporaryDirectory(prefix="taskforge-bench-mining-") as tmp:
        if limit is not None:
            shards = [
                _first_per_label(s, limit, Path(tmp) / f"{i}.jsonl") for i, s in enumerate(shards)
            ]
        path = Path(tmp) / "w.duckdb"
        ingest_paths(path, get_adapter("jsonl"), shards)
        with Warehouse.open(path) as wh:
            runs = wh.con.execute("SELECT run_id, domain FROM runs ORDER BY run_id").fetchall()
            stages = build_stages(
                wh,
                get_domain(runs[0][1]).toolkit_cls,
                embedder=embedder,
                min_cluster_size=min_cluster_size,
            )
            timed = _TimedStages(stages)
            start = time.perf_counter()
            result = mine(wh, timed.stages, runs=[r for r, _ in runs])
            total = time.perf_counter() - start
            return _report(wh, result, timed, total)


def _first_per_label(shard: Path, limit: int, out: Path) -> Path:
    """A copy of ``shard`` keeping only the first ``limit`` trajectories of each label."""
    import gzip

    import orjson

    opener = gzip.open if shard.suffix == ".gz" else open
    kept: Counter[tuple[str, str]] = Counter()
    with opener(shard, "rb") as src, out.open("wb") as dst:
        for line in src:
            record = orjson.loads(line)
            if record.get("type") == "trajectory":
                modes = record["trajectory"].get("error_modes") or ["none"]
                key = (record["run_id"], str(modes[0]))
                kept[key] += 1
                if kept[key] > limit:
                    continue
            dst.write(line)
    return out


class _TimedStages:
    """Wraps the embedder and clusterer to time them."""

    def __init__(self, stages: Any) -> None:
        self.seconds = {"embed": 0.0, "cluster": 0.0}
        self.stages = stages
        embed, fit = stages.embedder.embed, stages.clusterer.fit

        def timed_embed(texts: Any) -> Any:
            t = time.perf_counter()
            out = embed(texts)
            self.seconds["embed"] += time.perf_counter() - t
            return out

        def timed_fit(features: Any) -> Any:
            t = time.perf_counter()
            out = fit(features)
            self.seconds["cluster"] += time.perf_counter() - t
            return out

        stages.embedder.embed, stages.clusterer.fit = timed_embed, timed_fit


def _report(wh: Any, result: Any, timed: _TimedStages, total: float) -> dict[str, Any]:
    rows = wh.con.execute(_LABELS_SQL, [result.taxonomy.taxonomy_id]).fetchall()
    agent = [r for r in rows if not r[3]]
    labels = [r[4] or "none" for r in agent]
    mined = score(labels, [r[1] for r in agent], [bool(r[2]) for r in agent])
    n = len(agent)
    embed_cluster = timed.seconds["embed"] + timed.seconds["cluster"]
    baseline = _baseline(wh, [r[5] for r in agent], labels, mined["n_clusters"])
    summary = result.summary()
    return {
        "n_failures": result.n_failures,
        "n_agent_failures": n,
        "n_quarantined": len(rows) - n,
        "labels": sorted(set(labels)),
        "taskforge": mined,
        "baseline_tool_ngrams": baseline,
        "ari_ratio": round(mined["ari"] / baseline["ari"], 2) if baseline["ari"] > 0 else None,
        "seconds": {"total": round(total, 2), **{k: round(v, 2) for k, v in timed.seconds.items()}},
        "judgments_embedded_and_clustered_per_s": round(n / embed_cluster, 1)
        if embed_cluster
        else None,
        **_domain_scores(agent),
        "span": summary["domain_span"],
        "patterns": summary["patterns"],
    }


def _domain_scores(agent: list[tuple[Any, ...]]) -> dict[str, Any]:
    """The joint taxonomy scored on each domain's failures alone and, with labels qualified by
    the domain (``airline:early_stop``), on all of them: the ARI a taxonomy that keeps the
    domains apart would get."""
    by_domain: dict[str, list[tuple[Any, ...]]] = {}
    for row in agent:
        by_domain.setdefault(str(row[6]), []).append(row)
    per_domain = {
        d: {
            "n_failures": len(rs),
            **score([r[4] or "none" for r in rs], [r[1] for r in rs], [bool(r[2]) for r in rs]),
        }
        for d, rs in sorted(by_domain.items())
    }
    qualified = [f"{r[6]}:{r[4] or 'none'}" for r in agent]
    return {
        "domains": per_domain,
        "taskforge_domain_labels": score(
            qualified, [r[1] for r in agent], [bool(r[2]) for r in agent]
        )
        if len(by_domain) > 1
        else None,
    }


# -- where the benchmark is --------------------------------------------------------------------

BENCH_RELATIVE = Path("datasets") / "failure-bench" / "failures.jsonl.gz"
"""The default domain's benchmark in the repository (``taskforge bench failures`` writes it);
another domain's is in a folder of its name beside it (:func:`bench_relative`)."""


def bench_relative(domain: str) -> Path:
    """Where ``domain``'s benchmark is in the repository."""
    from taskforge.domains import DEFAULT_DOMAIN

    if domain == DEFAULT_DOMAIN:
        return BENCH_RELATIVE
    return BENCH_RELATIVE.parent / domain / BENCH_RELATIVE.name


def default_bench_path(domain: str | None = None) -> Path:
    """The labeled failure benchmark of ``domain`` (None: the default domain) of the
    repository the package is installed from.

    Found next to the package (``<repo>/taskforge`` -> ``<repo>/datasets/failure-bench``), so
    ``bench mining`` works from any folder.

    Raises:
        DataError: the file is not there (e.g. a wheel install, which ships no datasets).
    """
    from taskforge.domains import DEFAULT_DOMAIN
    from taskforge.errors import DataError

    path = Path(__file__).resolve().parents[2] / bench_relative(domain or DEFAULT_DOMAIN)
    if not path.is_file():
        raise DataError(
            f"{path}: no failure benchmark next to the installed package; generate one with "
            "`taskforge bench failures --out DIR` and pass --bench DIR/failures.jsonl.gz"
        )
    return path


# -- the LLM judge on a stratified sample ------------------------------------------------------

UNJUDGED = "no judgment"
"""What is embedded for a failure the LLM judge gave no usable answer on."""

_SAMPLE_SQL = """
    SELECT traj_uid, task_uid, coalesce(error_modes->>0, 'none') FROM trajectories
    WHERE run_id = ? AND NOT is_success(reward) ORDER BY traj_uid"""


def stratified_sample(labels: Mapping[str, str], n: int, seed: int) -> list[str]:
    """``n`` keys of ``labels``, as many of each label as possible, drawn reproducibly.

    Every label gets ``n // k`` keys (``k`` labels); the remainder goes to labels drawn by
    ``seed``. A label with fewer keys than its share gives all it has.

    Args:
        labels: Key (trajectory uid) -> label.
        n: Sample size.
        seed: Seed of the draw.

    Returns:
        The sampled keys, sorted.
    """
    by_label: dict[str, list[str]] = {}
    for key in sorted(labels):
        by_label.setdefault(labels[key], []).append(key)
    if not by_label or n <= 0:
        return []
    rng = random.Random(seed)
    base, extra = divmod(n, len(by_label))
    bonus = set(rng.sample(sorted(by_label), extra))
    chosen: list[str] = []
    for label in sorted(by_label):
        keys = by_label[label]
        chosen += rng.sample(keys, min(len(keys), base + (label in bonus)))
    return sorted(chosen)


@dataclass
class JudgeBenchOptions:
    """How ``bench mining --judge llm`` samples, embeds and clusters.

    Attributes:
        sample: Failures judged (stratified by label).
        seed: Seed of the sample.
        embedder: Embedder name (the registry's), used for both judges.
        min_cluster_size: HDBSCAN's; None: half the per-label share (at least 2).
    """

    sample: int = 60
    seed: int = 0
    embedder: str = "minilm"
    min_cluster_size: int | None = None


@dataclass
class _Outcome:
    """One LLM judgment of the sample: its label, the judgment, what went wrong."""

    label: str
    judgment: Judgment | None
    error: str | None = None

    @property
    def status(self) -> str:
        """``ok``, ``unparseable`` (invalid answers), ``call_failed`` or ``crashed``."""
        if self.judgment is None:
            return "crashed"
        llm_error = str(self.judgment.structured.get("llm_error") or "")
        if not llm_error:
            return "ok"
        return "call_failed" if llm_error.startswith("call failed") else "unparseable"

    @property
    def text(self) -> str:
        """What is embedded: the LLM's explanation, or :data:`UNJUDGED`."""
        ok = self.status == "ok" and self.judgment is not None
        return self.judgment.explanation if ok and self.judgment else UNJUDGED

    @property
    def category(self) -> str:
        """The LLM's category, or ``unjudged``."""
        return self.judgment.category if self.status == "ok" and self.judgment else "unjudged"


async def _judge_one(judge: Any, item: tuple[str, Task, Trajectory, str]) -> _Outcome:
    """One LLM judgment; any exception is caught and kept as the outcome's error."""
    uid, task, traj, label = item
    try:
        judgment = await judge.ajudge(task, traj, _reward(traj), uid)
    except Exception as exc:  # a broken judge is counted, never fatal to the bench
        return _Outcome(label, None, f"{type(exc).__name__}: {exc}")
    return _Outcome(label, judgment)


async def _judge_sample(
    judge: Any,
    items: list[tuple[str, Task, Trajectory, str]],
    progress: Callable[[int, int], None] | None,
) -> tuple[list[_Outcome], float]:
    """Every LLM judgment of the sample (concurrency: the client's limit), and the wall time."""
    done = 0

    async def one(item: tuple[str, Task, Trajectory, str]) -> _Outcome:
        nonlocal done
        outcome = await _judge_one(judge, item)
        done += 1
        if progress is not None:
            progress(done, len(items))
        return outcome

    start = time.perf_counter()
    outcomes = await asyncio.gather(*(one(item) for item in items))
    return list(outcomes), time.perf_counter() - start


def _cluster_score(
    embedder: Any, texts: list[str], labels: list[str], min_cluster_size: int
) -> dict[str, Any]:
    """Embed ``texts``, cluster them with HDBSCAN, score the clusters against ``labels``."""
    import numpy as np

    from taskforge.registry import build

    vectors = np.asarray(embedder.embed(texts), dtype=np.float32)
    result = build("clusterer", "hdbscan", min_cluster_size=min_cluster_size).fit(vectors)
    return score(labels, [int(c) for c in result.nearest], [bool(o) for o in result.outlier])


def run_judge_bench(
    bench: Path,
    judge: Any,
    options: JudgeBenchOptions | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """The LLM judge against the diagnostic one on a stratified sample of the benchmark.

    Both judges' free-text explanations (nothing structured) are embedded with the same
    embedder and clustered with the same HDBSCAN; the tool-call n-gram baseline runs on the
    same sample. A judgment that fails (unparseable answers, a failed call, an exception) is
    counted and embedded as :data:`UNJUDGED`.

    Args:
        bench: The benchmark shard (``failures.jsonl.gz``).
        judge: An :class:`~taskforge.mining.judge.LLMJudge` (anything with ``ajudge``).
        options: Sample, seed, embedder and cluster size.
        progress: Called with (judgments done, sample size) after each LLM judgment.
    """
    from taskforge.warehouse import Warehouse, get_adapter, ingest_paths

    options = options or JudgeBenchOptions()
    with tempfile.TemporaryDirectory(prefix="taskforge-bench-judge-") as tmp:
        path = Path(tmp) / "w.duckdb"
        ingest_paths(path, get_adapter("jsonl"), [bench])
        with Warehouse.open(path) as wh:
            run_id, domain = _bench_run(wh, bench)
            items = _sample_items(wh, options, run_id)
            if not items:
                from taskforge.errors import DataError

                raise DataError(f"{bench}: no failures of run {run_id} to judge")
            diagnostic = _diagnostic(items, domain)
            outcomes, wall = asyncio.run(_judge_sample(judge, items, progress))
            labels = [item[3] for item in items]
            baseline = _baseline(wh, [item[0] for item in items], labels, len(set(labels)))
    return _judge_report(judge, options, diagnostic, outcomes, wall, baseline)


def _bench_run(wh: Any, bench: Path) -> tuple[str, str]:
    """The (run id, domain) of the benchmark shard (its one run)."""
    rows = wh.con.execute("SELECT run_id, domain FROM runs ORDER BY run_id").fetchall()
    if len(rows) != 1:
        from taskforge.errors import DataError

        raise DataError(f"{bench}: expected one benchmark run, found {len(rows)}")
    return rows[0][0], rows[0][1]


def _sample_items(
    wh: Any, options: JudgeBenchOptions, run_id: str = BENCH_RUN_ID
) -> list[tuple[str, Task, Trajectory, str]]:
    """(uid, task, trajectory, label) of the stratified sample of ``run_id``'s failures."""
    from taskforge.warehouse.load import load_tasks_by_uid, load_trajectories

    rows = wh.con.execute(_SAMPLE_SQL, [run_id]).fetchall()
    labels = {uid: label for uid, _, label in rows}
    uids = stratified_sample(labels, options.sample, options.seed)
    task_of = {uid: task for uid, task, _ in rows}
    trajectories = load_trajectories(wh, uids)
    tasks = load_tasks_by_uid(wh, sorted({task_of[uid] for uid in uids}))
    return [(uid, tasks[task_of[uid]], trajectories[uid], labels[uid]) for uid in uids]


def _reward(traj: Trajectory) -> RewardInfo:
    """The recorded evaluation (every benchmark failure carries one)."""
    if traj.reward_info is None:
        from taskforge.errors import DataError

        raise DataError(f"benchmark trajectory {traj.id}: no recorded reward_info")
    return traj.reward_info


def _diagnostic(items: list[tuple[str, Task, Trajectory, str]], domain: str) -> list[Judgment]:
    """The offline diagnostic judgments of the sample (on ``domain``'s toolkit)."""
    from taskforge.domains import get_domain
    from taskforge.mining.judge import DiagnosticJudge

    judge = DiagnosticJudge(get_domain(domain).toolkit_cls)
    return [judge.judge(task, traj, _reward(traj), uid) for uid, task, traj, _ in items]


def _judge_report(
    judge: Any,
    options: JudgeBenchOptions,
    diagnostic: list[Judgment],
    outcomes: list[_Outcome],
    wall: float,
    baseline: dict[str, Any],
) -> dict[str, Any]:
    """The JSON report of :func:`run_judge_bench`."""
    per_label = Counter(o.label for o in outcomes)
    size = options.min_cluster_size or max(2, min(per_label.values(), default=4) // 2)
    start = time.perf_counter()
    llm, diag = _judge_scores(options.embedder, diagnostic, outcomes, size)
    embed_cluster = time.perf_counter() - start
    return {
        "mode": "llm-judge-sample",
        "judge_model": getattr(judge, "model", None),
        "sample": {
            "n": len(outcomes),
            "seed": options.seed,
            "per_label": dict(sorted(per_label.items())),
            "embedder": options.embedder,
            "min_cluster_size": size,
            "embedded": "the judges' free-text explanations only",
        },
        "llm_judge": llm,
        "diagnostic_judge": diag,
        "baseline_tool_ngrams": baseline,
        "judgments": _judgment_counts(outcomes),
        "seconds": _judge_seconds(outcomes, wall, embed_cluster),
        "tokens": _tokens(judge, wall),
        "categories_by_label": _categories_by_label(outcomes),
        "examples": _examples(outcomes),
    }


def _judge_scores(
    embedder_name: str, diagnostic: list[Judgment], outcomes: list[_Outcome], size: int
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Scores of both judges: clusters of their explanations, and their categories as labels.

    The LLM judge's also on its usable judgments alone (``parsed_only``), when there are
    enough of them, of at least two labels, to cluster.
    """
    from taskforge.registry import build

    embedder = build("embedder", embedder_name)
    labels = [o.label for o in outcomes]
    llm = _cluster_score(embedder, [o.text for o in outcomes], labels, size)
    diag = _cluster_score(embedder, [j.explanation for j in diagnostic], labels, size)
    ok = [o for o in outcomes if o.status == "ok"]
    enough = len({o.label for o in ok}) > 1 and len(ok) >= size
    llm["parsed_only"] = (
        _cluster_score(embedder, [o.text for o in ok], [o.label for o in ok], size)
        if enough
        else None
    )
    llm["category"] = score(labels, [o.category for o in outcomes], [False] * len(labels))
    diag["category"] = score(labels, [j.category for j in diagnostic], [False] * len(labels))
    return llm, diag


def _judgment_counts(outcomes: list[_Outcome]) -> dict[str, Any]:
    """How many LLM judgments were usable, and the first few errors."""
    counts = Counter(o.status for o in outcomes)
    errors = [_error(o) for o in outcomes if o.status != "ok"]
    statuses = ("ok", "unparseable", "call_failed", "crashed")
    return {
        **{status: counts.get(status, 0) for status in statuses},
        "blamed_not_agent": sum(
            1 for o in outcomes if o.status == "ok" and o.judgment and o.judgment.blame != "agent"
        ),
        "first_errors": errors[:3],
    }


def _error(outcome: _Outcome) -> str:
    if outcome.judgment is None:
        return _clip(outcome.error or "", 240)
    return _clip(str(outcome.judgment.structured.get("llm_error") or ""), 240)


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _judge_seconds(outcomes: list[_Outcome], wall: float, embed_cluster: float) -> dict[str, Any]:
    """Wall time of the LLM judgments, in all and per failure (retries included).

    Judgments run concurrently up to the client's limit, so the per-failure figure is wall
    time over the sample (throughput), not one call's latency.
    """
    return {
        "judge_total": round(wall, 2),
        "judge_per_failure": round(wall / max(1, len(outcomes)), 3),
        "embed_and_cluster": round(embed_cluster, 2),
    }


def _tokens(judge: Any, wall: float) -> dict[str, Any] | None:
    """The judge client's usage totals, with completion tokens per second of judging."""
    meter = getattr(getattr(judge, "client", None), "meter", None)
    if meter is None:
        return None
    usage: dict[str, Any] = meter.as_dict()
    usage["completion_tokens_per_s"] = round(usage["completion_tokens"] / wall, 1) if wall else None
    return usage


def _categories_by_label(outcomes: list[_Outcome]) -> dict[str, dict[str, int]]:
    """Per benchmark label, how often the LLM judge chose each category."""
    out: dict[str, Counter[str]] = {}
    for o in outcomes:
        out.setdefault(o.label, Counter())[o.category] += 1
    return {label: dict(counts.most_common()) for label, counts in sorted(out.items())}


def _examples(outcomes: list[_Outcome], n: int = 3) -> list[dict[str, Any]]:
    """The first LLM judgment of the first ``n`` labels, shortened (to read, not to score)."""
    seen: dict[str, _Outcome] = {}
    for o in outcomes:
        seen.setdefault(o.label, o)
    return [
        {
            "label": label,
            "status": o.status,
            "category": o.category,
            "explanation": _clip(o.text, 300),
        }
        for label, o in sorted(seen.items())[:n]
    ]
