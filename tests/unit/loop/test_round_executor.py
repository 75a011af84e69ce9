"""One executor (one Ray cluster) per loop round, shared by its stages, closed at its end."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import pytest

from taskforge.executors.local import LocalExecutor
from taskforge.loop import load_loop_config, runner
from taskforge.loop.context import LoopContext


class _Counted(LocalExecutor):
    """A local executor that records its closing."""

    closed: ClassVar[list[_Counted]] = []

    def close(self) -> None:
        _Counted.closed.append(self)


def _fake_loop(
    monkeypatch: pytest.MonkeyPatch, fail_at: str | None = None
) -> list[tuple[int, Any]]:
    built: list[Any] = []
    seen: list[tuple[int, Any]] = []
    _Counted.closed = []

    def build(settings: Any) -> _Counted:
        built.append(settings)
        return _Counted()

    def stage(name: str) -> Any:
        def run(ctx: LoopContext, round_: int) -> dict[str, Any]:
            seen.append((round_, ctx.executor()))
            if name == fail_at:
                raise RuntimeError("stage failed")
            return {}

        return run

    monkeypatch.setattr("taskforge.executors.build_executor", build)
    monkeypatch.setattr(
        runner, "ROUND_STAGES", [(n, stage(n)) for n in ("rollout", "mine", "verify")]
    )
    monkeypatch.setattr(runner.stages, "pool", lambda ctx, round_: {})
    monkeypatch.setattr("taskforge.loop.summary.summarise", lambda ctx: {})
    return seen


def test_each_round_opens_one_executor_for_all_its_stages(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen = _fake_loop(monkeypatch)
    config = load_loop_config(None, executor={"kind": "ray"}, rounds=2)
    runner.run_loop(config, tmp_path / "w.duckdb", tmp_path / "loop")
    by_round = {r: {id(e) for rr, e in seen if rr == r} for r in (1, 2)}
    assert len(seen) == 6 and all(len(ids) == 1 for ids in by_round.values())
    assert by_round[1] != by_round[2]  # a fresh one per round
    assert [id(e) for e in _Counted.closed] == [next(iter(by_round[r])) for r in (1, 2)]


def test_a_failed_stage_still_closes_the_rounds_executor(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen = _fake_loop(monkeypatch, fail_at="mine")
    config = load_loop_config(None, executor={"kind": "ray"}, rounds=2)
    with pytest.raises(RuntimeError):
        runner.run_loop(config, tmp_path / "w.duckdb", tmp_path / "loop")
    assert len(seen) == 2 and _Counted.closed == [seen[0][1]]
