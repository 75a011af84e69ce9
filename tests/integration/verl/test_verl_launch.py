"""The launch script's dry run: the full command checked against verl's own config (no GPU)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

# a submodule: this folder is itself named verl, and would pass for the package
pytest.importorskip(
    "verl.experimental.agent_loop", reason="verl is not installed (pip install -e '.[verl]')"
)

from taskforge.export import ExportResult
from trainer_adapters.verl.launch import main


def _args(export: ExportResult, run_dir: Path, *more: str) -> list[str]:
    return ["--export", str(export.out), "--model", "/ckpt/sft", "--run-dir", str(run_dir),
            "--gpus", "1", "--dry-run", *more]  # fmt: skip


def test_the_dry_run_renders_and_checks_the_command(
    export: ExportResult, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(_args(export, tmp_path / "run", "--json")) == 0
    summary = json.loads(capsys.readouterr().out)
    command = summary["command"]
    assert command.startswith("python3 -m verl.trainer.main_ppo algorithm.adv_estimator=grpo")
    for key in ("actor_rollout_ref.rollout.n=8", "actor_rollout_ref.rollout.name=vllm",
                "multi_turn.max_assistant_turns=30", "data.max_response_length=8192",
                "trainer.rollout_data_dir=", "reward.custom_reward_function.path="):  # fmt: skip
        assert key in command
    checked = summary["checked"]
    assert len(checked["tools"]) == 16 and checked["agent_loops"] == ["TaskforgeAgentLoop"]
    assert checked["reward_function"] == "compute_score"
    assert (tmp_path / "run" / "agent_loop.yaml").is_file() and (
        tmp_path / "run" / "run.json"
    ).is_file()


def test_an_unknown_key_fails_naming_it(
    export: ExportResult, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bogus = "actor_rollout_ref.rollout.multi_turn.max_user_turnz=3"
    assert main(_args(export, tmp_path / "run", "--set", bogus)) == 2
    err = capsys.readouterr().err
    assert f"override {bogus!r} rejected" in err and "max_user_turnz" in err


def test_a_config_verl_rejects_fails(
    export: ExportResult, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = _args(export, tmp_path / "run", "--batch-size", "3", "--rollout-n", "1")
    args[args.index("--gpus") + 1] = "2"  # 3 x 1 rollouts cannot split over 2 GPUs
    assert main(args) == 2
    assert "validate_config rejected the run" in capsys.readouterr().err
