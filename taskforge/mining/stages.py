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
) -> MiningStages:
    """The stages of a mining run; LLM stages get their role's client from the LLM config."""
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
    return MiningStages(
        judge=judge_obj,
        embedder=CachedEmbedder(build("embedder", embedder), wh),
        clusterer=build("clusterer", "hdbscan", min_cluster_size=min_cluster_size),
        labeler=labeler_obj,
    )


def _clients(path: Path | None) -> dict[str, Any]:
    from taskforge.llm import load_llm_config, make_clients

    return make_clients(load_llm_config(path), roles=("judge", "labeler"))
