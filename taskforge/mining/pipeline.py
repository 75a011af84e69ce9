"""The mining run: failed trajectories -> judgments -> embeddings -> clusters -> taxonomy.

Stages are injected objects (``Judge``, ``Embedder``, ``Clusterer``, ``Labeler``) with offline
defaults; :func:`mine` is the thin orchestrator that wires them to the warehouse.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from taskforge.contracts import Task, Trajectory
from taskforge.contracts.judgment import Judgment
from taskforge.env.evaluator import Evaluator
from taskforge.mining.cluster import ClusterResult, merge_clusters
from taskforge.mining.label import same_names
from taskforge.mining.taxonomy import (
    N_EXEMPLARS,
    UNKNOWN_DOMAIN,
    Pattern,
    Taxonomy,
    domain_shares,
    dominant_features,
    match_lineages,
    new_taxonomy_id,
    next_version,
    previous_lineages,
    save_taxonomy,
    span_score,
)
from taskforge.warehouse.keys import content_key
from taskforge.warehouse.load import load_tasks_by_uid, load_trajectories
from taskforge.warehouse.store import Warehouse

STRUCTURED_KEYS = ("category", "mechanism", "is_write")
"""Structured features clustered beside the text. Tool and argument are deliberately left out
(even a small weight splits one mechanism into a pattern per tool); they stay in signatures."""

_FAILED_SQL = """
    SELECT t.traj_uid, t.task_uid FROM trajectories t LEFT JOIN runs r USING (run_id)
    WHERE NOT is_success(t.reward)
      AND (?::VARCHAR[] IS NULL OR list_contains(?::VARCHAR[], t.run_id))
      AND (?::BIGINT IS NULL OR r.round = ?::BIGINT)
    ORDER BY t.traj_uid"""

_DOMAINS_SQL = """
    SELECT t.traj_uid, r.domain FROM trajectories t LEFT JOIN runs r USING (run_id)
    WHERE t.traj_uid IN (SELECT unnest(?::VARCHAR[]))"""


@dataclass
class MiningStages:
    """The injected stages of a mining run."""

    judge: Any
    embedder: Any
    clusterer: Any
    labeler: Any
    structured_weight: float = 1.0
    executor: Any = None
    """Where the judge runs (an :class:`~taskforge.executors.Executor`; None: here)."""
    judges: Any = None
    """The judge per domain (anything with ``get(domain) -> judge | None``, such as
    :class:`~taskforge.mining.stages.DomainJudges`); ``judge`` judges the rest."""

    def judge_for(self, domain: str | None) -> Any:
        """The judge of a failure of a run of ``domain`` (``judge`` when none is known)."""
        found = self.judges.get(domain) if self.judges is not None else None
        return self.judge if found is None else found


@dataclass
class MiningResult:
    """What a mining run produced."""

    taxonomy: Taxonomy
    judgments: list[Judgment] = field(default_factory=list)
    n_failures: int = 0

    def summary(self) -> dict[str, Any]:
        """A JSON-ready summary."""
        agent = [p for p in self.taxonomy.patterns if not p.quarantined]
        return {
            "taxonomy_id": self.taxonomy.taxonomy_id,
            "version": self.taxonomy.version,
            "n_failures": self.n_failures,
            "n_patterns": len(agent),
            "n_quarantined": sum(len(p.members) for p in self.taxonomy.patterns if p.quarantined),
            "patterns": [
                {
                    "name": p.name,
                    "size": len(p.members),
                    "lineage_id": p.lineage_id,
                    "quarantined": p.quarantined,
                    "domains": p.signature.get("domains", {}),
                }
                for p in self.taxonomy.patterns
            ],
            "domain_span": self.taxonomy.config.get("domain_span"),
        }


def failed_trajectories(
    wh: Warehouse, runs: Sequence[str] | None, round_: int | None
) -> list[tuple[str, str]]:
    """(traj_uid, task_uid) of the failures to mine."""
    run_list = list(runs) if runs else None
    rows = wh.con.execute(_FAILED_SQL, [run_list, run_list, round_, round_]).fetchall()
    return [(uid, task) for uid, task in rows]


def trajectory_domains(wh: Warehouse, uids: Sequence[str]) -> dict[str, str | None]:
    """The domain of each trajectory's run (None: the run is not stored)."""
    rows = wh.con.execute(_DOMAINS_SQL, [list(uids)]).fetchall()
    return dict(rows)


def judge_all(
    wh: Warehouse,
    stages: MiningStages,
    pairs: list[tuple[str, str]],
    evaluator: Evaluator | None = None,
    progress: Any = None,
    domains: dict[str, str | None] | None = None,
) -> list[Judgment]:
    """Judge every failure with the judge of its run's domain (:meth:`MiningStages.judge_for`).

    A failure whose recorded diff is missing is re-scored with ``evaluator`` when it is of the
    evaluator's domain. ``domains`` (traj_uid -> domain) is read from the warehouse when not
    given. ``progress`` (a :class:`~taskforge.loop.context.StageProgress`) hears each judgment.
    """
    uids = [uid for uid, _ in pairs]
    domains = trajectory_domains(wh, uids) if domains is None else domains
    trajectories = load_trajectories(wh, uids)
    tasks = load_tasks_by_uid(wh, sorted({task for _, task in pairs}))
    if progress is not None:
        progress.start(len(pairs), "judging failures")
    out: dict[int, Judgment] = {}
    for domain, positions in _by_domain(uids, domains).items():
        scorer = evaluator if _scores(evaluator, domain) else None
        items = [_judge_item(trajectories, tasks, *pairs[i], scorer) for i in positions]
        judged = _judge_items(stages, stages.judge_for(domain), items, progress)
        out.update(zip(positions, judged, strict=True))
    return [out[i] for i in range(len(pairs))]


def _by_domain(uids: list[str], domains: dict[str, str | None]) -> dict[str | None, list[int]]:
    """Positions of the failures of each domain, in order."""
    groups: dict[str | None, list[int]] = {}
    for i, uid in enumerate(uids):
        groups.setdefault(domains.get(uid), []).append(i)
    return groups


def _scores(evaluator: Evaluator | None, domain: str | None) -> bool:
    """Whether ``evaluator`` may re-score failures of ``domain`` (it is of that domain)."""
    if evaluator is None:
        return False
    from taskforge.domains import domain_for_toolkit

    home = domain_for_toolkit(evaluator.toolkit_cls)
    return home is None or domain is None or home.name == domain


def _judge_items(
    stages: MiningStages,
    judge: Any,
    items: list[tuple[Task, Trajectory, Any, str]],
    progress: Any,
) -> list[Judgment]:
    """``judge`` on every item, here or in chunks on the stages' executor."""
    executor = stages.executor
    if executor is not None and not executor.in_process:
        from taskforge.mining.fanout import judge_on

        return judge_on(executor, judge, items, _steps(progress))
    out = []
    for task, traj, reward, uid in items:
        out.append(judge.judge(task, traj, reward, uid))
        if progress is not None:
            progress.step()
    return out


def _judge_item(
    trajectories: dict[str, Trajectory],
    tasks: dict[str, Task],
    uid: str,
    task_uid: str,
    evaluator: Evaluator | None,
) -> tuple[Task, Trajectory, Any, str]:
    """What a worker needs to judge one failure (its reward re-scored here if need be)."""
    traj, task = trajectories[uid], tasks[task_uid]
    return task, traj, _reward(traj, task, evaluator), uid


def _steps(progress: Any) -> Any:
    """A callback stepping ``progress`` once per judged failure of a finished chunk."""
    if progress is None:
        return None
    return lambda n: [progress.step() for _ in range(n)]


def _reward(traj: Trajectory, task: Task, evaluator: Evaluator | None) -> Any:
    info = traj.reward_info
    if evaluator is not None and (info is None or (info.diff is None and not _matched(info))):
        return evaluator.evaluate_trajectory(task, traj)
    return info


def _matched(info: Any) -> bool:
    return bool(info.db_check and info.db_check.db_match)


def mine(
    wh: Warehouse,
    stages: MiningStages,
    runs: Sequence[str] | None = None,
    round_: int | None = None,
    evaluator: Evaluator | None = None,
    config: dict[str, Any] | None = None,
    progress: Any = None,
) -> MiningResult:
    """Mine the failures of the given runs/round into a new taxonomy version and store it.

    ``progress`` hears each failure judged (see :func:`judge_all`).
    """
    from taskforge.mining.judge import judgment_text, mechanism_text

    pairs = failed_trajectories(wh, runs, round_)
    domains = trajectory_domains(wh, [uid for uid, _ in pairs])
    judgments = judge_all(wh, stages, pairs, evaluator, progress, domains)
    agent = [j for j in judgments if j.blame == "agent"]
    config = {**(config or {}), "runs": list(runs or []), "round": round_}
    version = next_version(wh)
    taxonomy = Taxonomy(
        new_taxonomy_id([j.judgment_id for j in judgments], config, version),
        version,
        round_,
        config,
    )
    if agent:
        texts = [judgment_text(j) for j in agent]
        _cluster_patterns(wh, stages, taxonomy, agent, texts, [mechanism_text(j) for j in agent])
    _quarantine_patterns(taxonomy, [j for j in judgments if j.blame != "agent"])
    _record_domains(taxonomy, judgments, domains)
    save_taxonomy(wh, taxonomy, judgments)
    return MiningResult(taxonomy, judgments, len(pairs))


def _cluster_patterns(
    wh: Warehouse,
    stages: MiningStages,
    taxonomy: Taxonomy,
    judgments: list[Judgment],
    texts: list[str],
    embed_texts: list[str],
) -> None:
    """Cluster mechanism-level embeddings (+ structured features); label with the full texts."""
    from taskforge.mining.features import hybrid_features

    embeddings = np.asarray(stages.embedder.embed(embed_texts), dtype=np.float32)
    structured = [j.structured | {"category": j.category} for j in judgments]
    features = hybrid_features(
        embeddings, structured, weight=stages.structured_weight, keys=STRUCTURED_KEYS
    )
    result, members, labels = _labelled_clusters(stages, features, texts, structured)
    clusters = sorted(members)
    centroids = np.stack([embeddings[members[c]].mean(axis=0) for c in clusters])
    lineages = match_lineages(centroids, previous_lineages(wh))
    for k, c in enumerate(clusters):
        taxonomy.patterns.append(
            _pattern(
                taxonomy, c, members[c], labels[c], centroids[k], lineages[k], judgments, structured
            )
        )
    _assign(taxonomy, judgments, features, result, clusters)


def _labelled_clusters(
    stages: MiningStages,
    features: npt.NDArray[np.float32],
    texts: list[str],
    structured: list[dict[str, Any]],
) -> tuple[ClusterResult, dict[int, list[int]], dict[int, Any]]:
    """Cluster and label; clusters whose labels do not differ (same name) are merged."""
    result = stages.clusterer.fit(features)
    while True:
        clusters = sorted({int(c) for c in result.nearest})
        members = {c: [i for i, n in enumerate(result.nearest) if int(n) == c] for c in clusters}
        labels = asyncio.run(
            stages.labeler.label(
                {c: [texts[i] for i in members[c]] for c in clusters},
                {c: [structured[i] for i in members[c]] for c in clusters},
            )
        )
        duplicates = same_names(labels)
        if not duplicates:
            return result, members, labels
        result = merge_clusters(features, result, duplicates.values())


def _pattern(
    taxonomy: Taxonomy,
    cluster: int,
    members: list[int],
    label: Any,
    centroid: npt.NDArray[np.float32],
    lineage: str | None,
    judgments: list[Judgment],
    structured: list[dict[str, Any]],
) -> Pattern:
    pattern_id = content_key("pattern", taxonomy.taxonomy_id, cluster)
    return Pattern(
        pattern_id=pattern_id,
        lineage_id=lineage or content_key("lineage", pattern_id),
        name=label.name,
        description=label.description,
        members=members,
        exemplars=[judgments[i].judgment_id for i in members[:N_EXEMPLARS]],
        signature={
            "keywords": list(label.keywords),
            "cluster": cluster,
            "structured": dominant_features([structured[i] for i in members]),
            "centroid": [round(float(x), 5) for x in centroid],
        },
    )


def _assign(
    taxonomy: Taxonomy,
    judgments: list[Judgment],
    features: npt.NDArray[np.float32],
    result: Any,
    clusters: list[int],
) -> None:
    by_cluster = {p.signature["cluster"]: p for p in taxonomy.patterns if not p.quarantined}
    unit = features / np.maximum(np.linalg.norm(features, axis=1, keepdims=True), 1e-12)
    cent = np.asarray(result.centroids, dtype=np.float32)
    cent = cent / np.maximum(np.linalg.norm(cent, axis=1, keepdims=True), 1e-12)
    for i, judgment in enumerate(judgments):
        c = int(result.nearest[i])
        distance = float(1.0 - unit[i] @ cent[clusters.index(c)])
        taxonomy.assignments.append(
            (
                judgment.judgment_id,
                by_cluster[c].pattern_id,
                round(distance, 6),
                bool(result.outlier[i]),
            )
        )
    for pattern in by_cluster.values():  # exemplars: the members closest to the centroid
        ranked = sorted(
            pattern.members,
            key=lambda i: unit[i] @ cent[clusters.index(pattern.signature["cluster"])],
            reverse=True,
        )
        pattern.exemplars = [judgments[i].judgment_id for i in ranked[:5]]


def _record_domains(
    taxonomy: Taxonomy, judgments: list[Judgment], domains: dict[str, str | None]
) -> None:
    """Each pattern's members per domain (signature ``domains``, see
    :func:`~taskforge.mining.taxonomy.domain_shares`) and the span of the agent patterns
    (config ``domain_span``, see :func:`~taskforge.mining.taxonomy.span_score`)."""
    of = {j.judgment_id: domains.get(j.traj_uid) or UNKNOWN_DOMAIN for j in judgments}
    members: dict[str, list[str]] = {p.pattern_id: [] for p in taxonomy.patterns}
    for judgment_id, pattern_id, *_ in taxonomy.assignments:
        members[pattern_id].append(of[judgment_id])
    totals = Counter(of.values())
    for pattern in taxonomy.patterns:
        pattern.signature["domains"] = domain_shares(members[pattern.pattern_id], totals)
    agent = [Counter(members[p.pattern_id]) for p in taxonomy.patterns if not p.quarantined]
    taxonomy.config["domain_span"] = span_score(agent)


def _quarantine_patterns(taxonomy: Taxonomy, judgments: list[Judgment]) -> None:
    """Failures not blamed on the agent: one quarantined pattern per blame."""
    for blame in sorted({j.blame for j in judgments}):
        group = [j for j in judgments if j.blame == blame]
        pattern_id = content_key("pattern", taxonomy.taxonomy_id, "quarantine", blame)
        taxonomy.patterns.append(
            Pattern(
                pattern_id=pattern_id,
                lineage_id=f"quarantine-{blame}",
                name=f"quarantined: blamed on the {blame.replace('_', ' ')}",
                description=f"Failures the judge attributes to the {blame.replace('_', ' ')}; "
                "never turned into training tasks.",
                members=list(range(len(group))),
                exemplars=[j.judgment_id for j in group[:5]],
                signature={"blame": blame},
                quarantined=True,
            )
        )
        taxonomy.assignments += [(j.judgment_id, pattern_id, 0.0, False) for j in group]
