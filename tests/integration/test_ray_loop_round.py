"""A loop with ``executor: ray`` and no address starts one local Ray cluster per round, which
every stage of the round shares, and shuts it down at the round's end. Skipped without ray."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from taskforge.loop import load_loop_config, runner
from taskforge.loop.context import LoopContext

ray = pytest.importorskip("ray", reason="ray is not installed (pip install 'taskforge[ray]')")


def test_one_cluster_per_round_shared_by_its_stages(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert not ray.is_initialized()
    inits: list[dict[str, Any]] = []
    real_init = ray.init
    monkeypatch.setattr(ray, "init", lambda **kw: inits.append(kw) or real_init(**kw))
    seen: list[tuple[int, str, list[int], str]] = []

    def stage(name: str) -> Any:
        def run(ctx: LoopContext, round_: int) -> dict[str, Any]:
            out = sorted(ctx.executor().map(abs, [-1, -2, -3]))  # a builtin: workers import it
            seen.append((round_, name, out, ray.get_runtime_context().get_node_id()))
            return {}

        return run

    monkeypatch.setattr(runner, "ROUND_STAGES", [(n, stage(n)) for n in ("rollout", "verify")])
    monkeypatch.setattr(runner.stages, "pool", lambda ctx, round_: {})
    monkeypatch.setattr("taskforge.loop.summary.summarise", lambda ctx: {})
    config = load_loop_config(None, executor={"kind": "ray", "num_workers": 2}, rounds=2)
    runner.run_loop(config, tmp_path / "w.duckdb", tmp_path / "loop")
    assert len(inits) == 2 and not ray.is_initialized()  # one a round, each shut down
    assert [(r, n, out) for r, n, out, _ in seen] == [
        (r, n, [1, 2, 3]) for r in (1, 2) for n in ("rollout", "verify")
    ]
    assert seen[0][3] == seen[1][3] != seen[2][3] == seen[3][3]  # a cluster per round
