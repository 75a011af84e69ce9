"""`demo --local` wiring, without a model: its LLM config and loop config are what it says.

The demo itself (a real model in every role, ~30 minutes on 2 cores) is run by hand; see the
README section "A real model on your laptop".
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from taskforge.cli import demo_local
from taskforge.llm.config import load_llm_config


def test_llm_config_points_every_role_but_the_explorer_at_the_server(tmp_path: Path) -> None:
    path = demo_local._write_llm_config(tmp_path, "http://127.0.0.1:9999/v1")
    config = load_llm_config(path)
    assert config.explorer.is_offline
    for role in ("policy", "user", "judge", "labeler", "writer"):
        assert config.role(role).api_base == "http://127.0.0.1:9999/v1"
    assert config.policy.max_tokens == 96 and config.user.max_tokens == 64
    assert config.judge.json_schema and config.writer.json_schema
    assert yaml.safe_load(path.read_text())["cache_dir"] == str(tmp_path / "llm-cache")


def test_the_round_trains_with_trl_cpu_and_mines_with_the_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: dict[str, Any] = {}

    def fake_run_loop(config: Any, warehouse: Path, out: Path, *_: Any, **__: Any) -> str:
        seen["config"] = config
        return "summary"

    monkeypatch.setattr("taskforge.loop.run_loop", fake_run_loop)
    steps = {"db": {"path": str(tmp_path / "db.json")}, "tasks": {"path": str(tmp_path / "t.json")}}
    llm = tmp_path / "llm.yaml"
    assert demo_local._loop(tmp_path, steps, llm, 2, bar=None) == "summary"
    config = seen["config"]
    assert (config.trainer, config.rounds, config.trials, config.max_steps) == ("trl-cpu", 1, 2, 6)
    assert (config.mining.judge, config.mining.labeler) == ("llm", "llm")
    assert config.training.steps == 2 and config.training.rollout_n == 4
    assert config.llm_config == llm
    assert config.synthesis.n_per_pattern * len(config.synthesis.families or []) == 4
