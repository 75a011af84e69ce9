"""``bench mining``: the mined taxonomy against the failure benchmark's known labels, beside a
simple baseline measured in the same run (clustering on tool-call n-grams)."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

from taskforge.mining.failure_bench import BENCH_RUN_ID, score

_LABELS_SQL = """
    SELECT a.judgment_id, p.signature->>'cluster' AS cluster, a.is_outlier, p.quarantined,
           t.error_modes->>0 AS label, j.traj_uid
    FROM assignments a JOIN patterns p USING (pattern_id) JOIN judgments j USING (judgment_id)
    JOIN trajectories t USING (traj_uid) WHERE a.taxonomy_id = ? ORDER BY j.traj_uid"""


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
    bench: Path, embedder: str = "minilm", min_cluster_size: int = 10
) -> dict[str, Any]:
    """Ingest the benchmark into a fresh warehouse, mine it, and score the taxonomy."""
    from taskforge.env.domains import get_domain
    from taskforge.mining.pipeline import mine
    from taskforge.mining.stages import build_stages
    from taskforge.warehouse import Warehouse, get_adapter, ingest_paths

    with tempfile.TemporaryDirectory(prefix="taskforge-bench-mining-") as tmp:
        path = Path(tmp) / "w.duckdb"
        ingest_paths(path, get_adapter("jsonl"), [bench])
        with Warehouse.open(path) as wh:
            stages = build_stages(
                wh,
                get_domain("retail").toolkit_cls,
                embedder=embedder,
                min_cluster_size=min_cluster_size,
            )
            timed = _TimedStages(stages)
            start = time.perf_counter()
            result = mine(wh, timed.stages, runs=[BENCH_RUN_ID])
            total = time.perf_counter() - start
            return _report(wh, result, timed, total)


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
    clusters = [r[1] for r in agent]
    mined = score(labels, clusters, [bool(r[2]) for r in agent])
    n = len(agent)
    embed_cluster = timed.seconds["embed"] + timed.seconds["cluster"]
    baseline = _baseline(wh, [r[5] for r in agent], labels, mined["n_clusters"])
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
        "patterns": result.summary()["patterns"],
    }
