"""The loop's rollout stage plays the previous pool on the executor its config names."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from taskforge.contracts.loop import ExecutorSettings
from taskforge.loop import load_loop_config
from taskforge.loop.context import LoopContext
from taskforge.loop.stages import rollout


def test_rollout_stage_passes_the_executor_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[Any] = []
    monkeypatch.setattr(
        "taskforge.rollout.api.run_rollout", lambda request, **_: seen.append(request) or {}
    )
    config = load_loop_config(None, executor={"kind": "ray", "num_workers": 3})
    ctx = LoopContext(config, tmp_path / "w.duckdb", tmp_path / "loop")
    ctx.outputs[(0, "pool")] = {"tasks_file": str(tmp_path / "pool.json")}
    rollout(ctx, 1)
    (request,) = seen
    assert request.executor == ExecutorSettings(kind="ray", num_workers=3)
    assert request.round == 1 and request.out_dir == tmp_path / "loop" / "round-01" / "rollouts"
