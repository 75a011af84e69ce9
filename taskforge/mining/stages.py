"""Building the mining stages by name (through :mod:`taskforge.registry`)."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
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

    Each failure is judged by the judge of its run's domain (:class:`DomainJudges`, built on
    first use); ``toolkit_cls`` makes the judge of failures whose run names no registered
    domain.

    With an ``executor`` that leaves the process (Ray), the judge and the embedder run in
    chunks on it (see :mod:`taskforge.mining.fanout`); the embedding cache stays here.
    """
    from taskforge.domains import domain_for_toolkit
    from taskforge.mining.embed import CachedEmbedder

    clients = _clients(llm_config) if "llm" in (judge, labeler) else {}
    make = partial(_judge, judge, clients.get("judge"))
    labeler_obj: Any = (
        resolve("labeler", "llm")(clients["labeler"])
        if labeler == "llm"
        else build("labeler", labeler)
    )
    inner = build("embedder", embedder)
    if executor is not None and not executor.in_process:
        from taskforge.mining.fanout import ExecutorEmbedder

        inner = ExecutorEmbedder(inner, executor)
    default = make(toolkit_cls)
    home = domain_for_toolkit(toolkit_cls)
    return MiningStages(
        judge=default,
        judges=DomainJudges(make, {home.name: default} if home else None),
        embedder=CachedEmbedder(inner, wh),
        clusterer=build("clusterer", "hdbscan", min_cluster_size=min_cluster_size),
        labeler=labeler_obj,
        executor=executor,
    )


class DomainJudges:
    """The judge of each registered domain, made on first use from the domain's toolkit.

    Args:
        make: Builds a judge from a domain's toolkit class.
    """

    def __init__(
        self, make: Callable[[type[Toolkit]], Any], known: dict[str, Any] | None = None
    ) -> None:
        self._make = make
        self._judges: dict[str, Any] = dict(known or {})

    def get(self, domain: str | None) -> Any:
        """The judge of ``domain``; None when no registered domain has that name."""
        from taskforge.domains import available_domains, get_domain

        if domain is None or domain not in available_domains():
            return None
        if domain not in self._judges:
            self._judges[domain] = self._make(get_domain(domain).toolkit_cls)
        return self._judges[domain]


def _judge(name: str, client: Any, toolkit_cls: type[Toolkit]) -> Any:
    """The judge ``name`` for one domain's toolkit (an LLM judge falls back on the diagnostic
    judge of the same toolkit)."""
    if name == "llm":
        fallback = build("judge", "diagnostic", toolkit_cls=toolkit_cls)
        return resolve("judge", "llm")(client, fallback=fallback)
    return build("judge", name, toolkit_cls=toolkit_cls)


def _clients(path: Path | None) -> dict[str, Any]:
    from taskforge.llm import load_llm_config, make_clients

    return make_clients(load_llm_config(path), roles=("judge", "labeler"))
