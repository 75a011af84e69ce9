"""Acceptance (CPU, real verl code): the exported parquet through verl's RLHFDataset, the
taskforge agent loop through verl's AgentLoopWorker against a token server replaying honest
Retail episodes (tool calls and user turns), the rewards through verl's reward-loop worker and
naive reward manager into compute_score, and the episodes back into the warehouse."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

# a submodule: this folder is itself named verl, and would pass for the package
pytest.importorskip(
    "verl.experimental.agent_loop", reason="verl is not installed (pip install -e '.[verl]')"
)

from verl_fakes import LocalRewardHandle, ScriptedTokenServer

from taskforge.contracts import Message, Task, TerminationReason, Trajectory
from taskforge.env.db import Database
from taskforge.export import ExportResult
from taskforge.rewards import load_spec, score_messages
from taskforge.warehouse import Warehouse, get_adapter, ingest_paths, input_files
from taskforge.warehouse.ingest.verl import run_id
from trainer_adapters.verl.inputs import AGENT_NAME, EPISODE_FIELD
from trainer_adapters.verl.launch import LaunchRequest, compose, plan

STEP, SAMPLES = 4, 2


@pytest.fixture(scope="module")
def run(
    tmp_path_factory: pytest.TempPathFactory, export: ExportResult, model_dir: Path
) -> dict[str, Any]:
    """The launch script's config for one GPU, composed from verl's own YAML, and its files."""
    run_dir = tmp_path_factory.mktemp("run")
    request = LaunchRequest(
        [export.out], str(model_dir), run_dir, gpus=1, rollout_n=SAMPLES, batch_size=2
    )
    rendered = plan(request)
    for path, text in rendered.files.items():
        path.write_text(text)
    return {"config": compose(rendered.overrides), "run_dir": run_dir.resolve()}


@pytest.fixture(scope="module")
def dataset(run: dict[str, Any], export: ExportResult, model_dir: Path) -> Any:
    from transformers import AutoTokenizer
    from verl.utils.dataset.rl_dataset import RLHFDataset

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    return RLHFDataset(str(export.out / "train.parquet"), tokenizer, run["config"].data)


def test_verls_dataset_reads_the_export(
    dataset: Any, export: ExportResult, tasks: list[Task]
) -> None:
    import pyarrow.parquet as pq

    rows = pq.read_table(export.out / "train.parquet").to_pylist()
    assert len(dataset) == len(rows) == export.manifest.extra["split_counts"]["train"] > 0
    by_id = {t.id: t for t in tasks}
    for i, row in enumerate(rows):
        item = dataset[i]
        assert item["raw_prompt"] == row["prompt"] and item["agent_name"] == AGENT_NAME
        assert (
            item["index"] == i
            and item["reward_model"]["ground_truth"] == row["extra_info"]["task_id"]
        )
        assert (
            set(item["tools_kwargs"]) == set(row["extra_info"]["tools_kwargs"])
            and len(item["tools_kwargs"]) == 16
        )
        assert (
            Task.model_validate_json(item["extra_info"]["task"])
            == by_id[item["extra_info"]["task_id"]]
        )


def _batch(dataset: Any) -> Any:
    """Every train row, each sampled SAMPLES times, with the keys verl's v1 trainer passes."""
    from verl.protocol import DataProto
    from verl.utils.dataset.rl_dataset import collate_fn

    batch = DataProto.from_single_dict(collate_fn([dataset[i] for i in range(len(dataset))]))
    batch.non_tensor_batch["uid"] = np.array([f"row-{i}" for i in range(len(batch))], dtype=object)
    batch = batch.repeat(repeat_times=SAMPLES, interleave=True)
    n = len(batch)
    batch.non_tensor_batch["session_id"] = np.array([i % SAMPLES for i in range(n)], dtype=object)
    batch.non_tensor_batch["global_steps"] = np.array([STEP] * n, dtype=object)
    return batch


@pytest.fixture(scope="module")
def rollout(run: dict[str, Any], dataset: Any, scripts: dict[str, list[str]]) -> dict[str, Any]:
    from verl.experimental.agent_loop.agent_loop import AgentLoopWorker
    from verl.experimental.reward_loop.reward_loop import RewardLoopWorker

    config = run["config"]
    server = ScriptedTokenServer(dataset.tokenizer, scripts, global_steps=STEP - 1)

    async def play() -> Any:
        rewards = LocalRewardHandle(RewardLoopWorker(config))
        worker = AgentLoopWorker(config, server, None, [rewards])
        return await worker.generate_sequences(_batch(dataset))

    return {"output": asyncio.run(play()), "server": server, "tokenizer": dataset.tokenizer}


def _same_dialogue(got: list[Message], want: list[Message]) -> None:
    def view(m: Message) -> tuple[Any, ...]:
        calls = [(c.name, c.arguments) for c in m.tool_calls or []]
        return (m.role, m.content, calls, m.error if m.role == "tool" else None)

    assert [view(m) for m in got] == [view(m) for m in want]


def test_the_agent_loop_plays_whole_retail_episodes(
    rollout: dict[str, Any], dialogues: dict[str, list[Message]]
) -> None:
    out, tokenizer = rollout["output"], rollout["tokenizer"]
    n = len(out)
    assert n == 2 * SAMPLES
    for i in range(n):
        trajectory = Trajectory.model_validate_json(out.non_tensor_batch[EPISODE_FIELD][i])
        want = dialogues[trajectory.task_id]
        _same_dialogue(trajectory.messages, want)  # greeting, user turns, calls, tool answers
        assert trajectory.termination_reason is TerminationReason.USER_STOP
        assert trajectory.reward_info is not None and trajectory.reward_info.reward == 1.0
        n_calls = sum(len(m.tool_calls or []) for m in want)
        assert (
            n_calls >= 3
            and len(json.loads(out.non_tensor_batch["taskforge_tool_calls"][i])) == n_calls
        )
        assert out.non_tensor_batch["taskforge_termination"][i] == "user_stop"
        mask = out.batch["response_mask"][i]
        responses = out.batch["responses"][i]
        generated = tokenizer.decode(responses[mask == 1])
        context = tokenizer.decode(
            responses[(mask == 0) & (out.batch["attention_mask"][i, -len(mask) :] == 1)]
        )
        for message in want[2:]:  # the agent's words are trained on; users and tools are not
            if message.role == "user" and "###STOP###" not in (message.content or ""):
                turn = f"<|im_start|>user\n{message.content}<|im_end|>"
                assert turn in context and turn not in generated
            elif message.role == "tool":
                assert (message.content or "")[:80] in context
            elif message.role == "assistant" and message.content:
                assert message.content in generated
    assert len(rollout["server"].sessions) == n  # one episode per sample, each its own script


def test_the_reward_manager_returns_the_specs_reward(
    rollout: dict[str, Any], tasks: list[Task], db: Database, spec_file: Path
) -> None:
    out = rollout["output"]
    spec, raft = load_spec(str(spec_file)), load_spec("raft")
    by_id = {t.id: t for t in tasks}
    keys = out.meta_info["reward_extra_keys"]
    assert {"score", "task_success", "repeated_calls", "token_length"} <= set(keys)
    for i in range(len(out)):
        trajectory = Trajectory.model_validate_json(out.non_tensor_batch[EPISODE_FIELD][i])
        expected = score_messages(
            trajectory.messages, by_id[trajectory.task_id], spec, db=db,
            termination=trajectory.termination_reason,
        ).as_flat_dict()  # fmt: skip
        assert float(out.batch["rm_scores"][i].sum()) == pytest.approx(expected["score"])
        default = score_messages(
            trajectory.messages, by_id[trajectory.task_id], raft, db=db,
            termination=trajectory.termination_reason,
        ).as_flat_dict()  # fmt: skip
        assert default["score"] != pytest.approx(expected["score"])  # the export's spec was used
        for key in keys:
            assert out.non_tensor_batch[key][i] == pytest.approx(expected[key])
        assert expected["tau2_reward"] == 1.0 and expected["task_success"] == 0.5


def test_the_episodes_go_back_into_the_warehouse(
    rollout: dict[str, Any], run: dict[str, Any], tmp_path: Path
) -> None:
    episodes = run["run_dir"] / "rollout_data" / "episodes" / f"step-{STEP:06d}"
    assert list(episodes.glob("*.jsonl"))
    adapter = get_adapter("verl")
    warehouse = tmp_path / "w.duckdb"
    ingest_paths(warehouse, adapter, input_files(adapter, [run["run_dir"] / "rollout_data"]))
    config = run["config"].trainer
    rid = run_id(config.project_name, config.experiment_name, "train", STEP)
    with Warehouse.open(warehouse, read_only=True) as wh:
        rows = wh.query(
            "SELECT t.sim_id, t.task_id, t.trial, t.reward, t.task_uid, t.n_tool_calls, r.round, "
            "json_extract(t.extra, '$.info.verl') AS verl FROM trajectories t "
            "JOIN runs r USING (run_id) WHERE t.run_id = ? ORDER BY t.task_id, t.trial",
            [rid],
        ).to_dicts()
        assert wh.scalar("SELECT count(*) FROM trajectories") == len(rows) == len(rollout["output"])
    assert sorted(r["trial"] for r in rows) == [0, 0, 1, 1]
    assert all(r["reward"] == 1.0 and r["task_uid"] and r["round"] == 1 for r in rows), [
        (r["reward"], r["round"]) for r in rows
    ]
    context = json.loads(rows[0]["verl"])
    assert context["step"] == STEP and context["weights_step_max"] == STEP - 1
    assert context["uid"].startswith("row-") and context["reward"]["tau2_reward"] == 1.0
    out = rollout["output"]
    trainer_scores = {
        Trajectory.model_validate_json(out.non_tensor_batch[EPISODE_FIELD][i]).id: float(
            out.batch["rm_scores"][i].sum()
        )
        for i in range(len(out))
    }
    for row in rows:  # the loop's record carries the reward verl trained on
        score = json.loads(row["verl"])["reward"]["score"]
        assert score == pytest.approx(trainer_scores[row["sim_id"]])
