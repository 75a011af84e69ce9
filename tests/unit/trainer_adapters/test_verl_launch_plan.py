"""The launch script's rendering: GRPO overrides, RAFT and on-policy modes (no verl needed)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from taskforge.contracts import Task
from taskforge.env.db import Database
from taskforge.errors import DataError
from taskforge.export import ExportResult
from taskforge.pool import pool_from_tasks
from trainer_adapters.verl.export import VerlExportOptions, export_verl
from trainer_adapters.verl.launch import REWARD_FILE, LaunchRequest, plan


@pytest.fixture(scope="module")
def round2(tmp_path_factory: pytest.TempPathFactory, seed_tasks: list[Task], db: Database) -> Path:
    pool = pool_from_tasks("seeds", 2, seed_tasks[:2], "retail")
    out = tmp_path_factory.mktemp("round2") / "pool"
    return export_verl(pool, seed_tasks[:2], db, out, VerlExportOptions(val_fraction=0.5)).out


def _values(overrides: list[str]) -> dict[str, str]:
    return dict(o.lstrip("+").split("=", 1) for o in overrides)


def test_raft_trains_on_the_union_from_the_sft_checkpoint(
    tmp_path: Path, small_export: ExportResult, round2: Path
) -> None:
    request = LaunchRequest([small_export.out, round2], "/ckpt/sft", tmp_path / "run", mode="raft")
    rendered = plan(request)
    values = _values(rendered.overrides)
    assert values["algorithm.adv_estimator"] == "grpo"
    assert values["actor_rollout_ref.model.path"] == "/ckpt/sft"
    train = f"[{small_export.out.resolve()}/train.parquet,{round2.resolve()}/train.parquet]"
    assert values["data.train_files"] == train
    assert values["actor_rollout_ref.rollout.name"] == "vllm"
    assert values["actor_rollout_ref.rollout.n"] == "8"
    assert values["actor_rollout_ref.rollout.multi_turn.enable"] == "True"
    assert values["actor_rollout_ref.rollout.multi_turn.max_assistant_turns"] == "30"
    assert values["data.max_response_length"] == "8192"
    assert values["actor_rollout_ref.rollout.agent.default_agent_loop"] == "taskforge_agent"
    assert values["actor_rollout_ref.rollout.multi_turn.tool_config_path"] == str(
        round2.resolve() / "configs" / "tools.yaml"
    )
    assert values["reward.custom_reward_function.path"] == str(REWARD_FILE)
    assert REWARD_FILE.is_file() and "def compute_score(" in REWARD_FILE.read_text()
    assert values["trainer.rollout_data_dir"] == str((tmp_path / "run").resolve() / "rollout_data")
    assert rendered.command[:3] == ["python3", "-m", "verl.trainer.main_ppo"]
    loop_yaml = Path(values["actor_rollout_ref.rollout.agent.agent_loop_config_path"])
    loop = yaml.safe_load(rendered.files[loop_yaml])[0]
    assert (loop["mode"], loop["round"]) == ("raft", 2)
    assert loop["reward_spec"] == values["reward.custom_reward_function.reward_kwargs.spec"]
    run = json.loads(rendered.files[(tmp_path / "run").resolve() / "run.json"])
    assert run["mode"] == "raft" and len(run["train_files"]) == 2 and run["pool"] == "seeds"


def test_on_policy_trains_on_the_latest_pool_from_the_previous_checkpoint(
    tmp_path: Path, small_export: ExportResult, round2: Path
) -> None:
    request = LaunchRequest(
        [small_export.out, round2], "/ckpt/round1", tmp_path / "run", mode="on-policy",
        rollout_n=4, extra=["trainer.save_freq=5"],
    )  # fmt: skip
    values = _values(plan(request).overrides)
    assert values["data.train_files"] == f"[{round2.resolve()}/train.parquet]"
    assert values["actor_rollout_ref.model.path"] == "/ckpt/round1"
    assert values["actor_rollout_ref.rollout.n"] == "4" and values["trainer.save_freq"] == "5"
    assert values["trainer.experiment_name"] == "pool-on-policy-round2"


def test_bad_requests_are_refused(tmp_path: Path, small_export: ExportResult) -> None:
    with pytest.raises(DataError, match="field mode"):
        plan(LaunchRequest([small_export.out], "m", tmp_path, mode="offline"))
    with pytest.raises(DataError, match=r"not a taskforge export|no such file"):
        plan(LaunchRequest([tmp_path], "m", tmp_path))
