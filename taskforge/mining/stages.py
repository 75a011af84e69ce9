"""Building the mining stages by name (through :mod:`taskforge.registry`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from taskforge.env.toolkit import Toolkit
from taskforge.mining.pipeline import MiningStages
from taskforge.registry import build, resolve
from taskforge.warehouse.store import Warehouse


def build_stages(
    wh: Warehouse,
    toolkit_cls: type[Toolkit],
    judge: str = "diagnostic",
    embedder: str = "minilm",
    labeler: str = "keywords",
    min_cluster_size: int = 10,
    llm_config: Path | None = None,
    executor: Any = None,
) -> MiningStages:
    """The stages of a mining run; LLM stages get their role's client from the LLM config.

    With an ``executor`` that leaves the process (Ray), the judge and the embedder run in
    chunks on it (see :mod:`taskforge.mining.fanout`); the embedding cache stays here.
    """
    from taskforge.mining.embed import CachedEmbedder

    clients = _clients(llm_config) if "llm" in (judge, labeler) else {}
    judge_obj: Any = (
        resolve("judge", "llm")(
            clients["judge"], fallback=build("judge", "diagnostic", toolkit_cls=toolkit_cls)
        )
        if judge == "llm"
        else build("judge", judge, toolkit_cls=toolkit_cls)
    )
    labeler_obj: Any = (
        resolve("labeler", "llm")(clients["labeler"])
        if labeler == "llm"
        else build("labeler", labeler)
    )
    inner = build("embedder", embedder)
    if executor is not None and not executor.in_process:
        from taskforge.mining.fanout import ExecutorEmbedder

        inner = ExecutorEmbedder(inner, executor)
    return MiningStages(
        judge=judge_obj,
        embedder=CachedEmbedder(inner, wh),
        clusterer=build("clusterer", "hdbscan", min_cluster_size=min_cluster_size),
        labeler=labeler_obj,
        executor=executor,
    )


def _clients(path: Path | None) -> dict[str, Any]:
    from taskforge.llm import load_llm_config, make_clients

    return make_clients(load_llm_config(path), roles=("judge", "labeler"))
