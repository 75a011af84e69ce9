"""A real model on this CPU: the local server (SmolLM2-135M, llama.cpp) as policy and user.

Real tool calls of a real model reach the environment and the warehouse; a call cut off by
the token limit becomes a recorded error turn, not a crash.
"""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from taskforge.llm.local import LocalModelError, LocalServer, ServerOptions, free_port
from taskforge.rollout.api import RolloutRequest, run_rollout
from taskforge.warehouse import Warehouse

REPO = Path(__file__).resolve().parents[2]

if importlib.util.find_spec("llama_cpp") is None:
    pytest.skip("the local extra (llama-cpp-python) is not installed", allow_module_level=True)
try:
    from taskforge.llm.local import default_model_path

    default_model_path()
except LocalModelError as exc:
    pytest.skip(f"no local model: {exc}", allow_module_level=True)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalServer]:
    log = tmp_path_factory.mktemp("server") / "server.log"
    with LocalServer(ServerOptions(port=free_port(), n_ctx=4096), log_path=log) as running:
        yield running


def _config(tmp_path: Path, api_base: str, policy_tokens: int) -> Path:
    from taskforge.llm.local import local_llm_config

    data = local_llm_config(api_base, None)
    data["policy"].update(tool_choice="required", max_tokens=policy_tokens, temperature=0.0)
    data["user"].update(max_tokens=24)
    path = tmp_path / "llm.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def _rollout(tmp_path: Path, config: Path) -> Path:
    warehouse = tmp_path / "wh.duckdb"
    run_rollout(
        RolloutRequest(
            tasks_path=REPO / "datasets" / "retail" / "seed_tasks.json", db_path=None, trials=1,
            config_path=config, concurrency=1, limit=2, seed=0, out_dir=tmp_path / "out",
            max_steps=6, warehouse=warehouse, domain="retail",
        )
    )  # fmt: skip
    return warehouse


def test_real_tool_calls_reach_the_environment_and_the_warehouse(
    tmp_path: Path, server: LocalServer
) -> None:
    warehouse = _rollout(tmp_path, _config(tmp_path, server.api_base, 96))
    with Warehouse.open(warehouse, read_only=True) as wh:
        calls = wh.query("SELECT name, arguments, result, is_error FROM tool_calls").to_dicts()
        usage = wh.scalar("SELECT sum(prompt_tokens) FROM messages WHERE role = 'assistant'")
    tools = {t["function"]["name"] for t in _schemas()}
    assert calls and all(c["name"] in tools for c in calls)  # required: every turn calls
    assert all(c["result"] for c in calls)  # the environment answered each (result or error)
    assert usage and usage > 0


def test_a_call_cut_off_by_the_token_limit_is_an_error_turn(
    tmp_path: Path, server: LocalServer
) -> None:
    warehouse = _rollout(tmp_path, _config(tmp_path, server.api_base, 3))
    with Warehouse.open(warehouse, read_only=True) as wh:
        calls = wh.query("SELECT arguments, is_error, result FROM tool_calls").to_dicts()
        ends = wh.query("SELECT termination_reason FROM trajectories").to_series().to_list()
    assert calls and all(c["is_error"] for c in calls)
    assert all(json.loads(c["arguments"]) == {} for c in calls)
    assert len(ends) == 2  # both episodes recorded, none crashed


def _schemas() -> list[dict]:
    from taskforge.domains import get_domain

    return get_domain("retail").toolkit_cls.openai_schemas()


def test_the_judge_verdict_follows_its_schema(server: LocalServer) -> None:
    """With ``json_schema: true`` the server enforces the verdict's schema: it parses."""
    from taskforge.contracts import Message, TerminationReason, Trajectory
    from taskforge.contracts.io import load_tasks
    from taskforge.domains import get_domain
    from taskforge.env.evaluator import Evaluator
    from taskforge.llm import LLMClient, RoleConfig
    from taskforge.llm.local import local_llm_config
    from taskforge.mining.judge import LLMJudge

    task = load_tasks(REPO / "datasets" / "retail" / "seed_tasks.json")[0]
    messages = [
        Message(role="assistant", content="Hi! How can I help you today?"),
        Message(role="user", content="Please cancel my order, I ordered it by mistake."),
        Message(role="assistant", content="Sorry, I cannot help with that. Goodbye."),
    ]
    stop = TerminationReason.USER_STOP
    domain = get_domain("retail")
    reward = Evaluator(domain.toolkit_cls, domain.load_db()).evaluate(task, messages, stop)
    trajectory = Trajectory(id="t0", task_id=task.id, trial=0, termination_reason=stop,
                            messages=messages, reward_info=reward)  # fmt: skip
    role = RoleConfig.model_validate(local_llm_config(server.api_base)["judge"])
    assert role.json_schema
    judgment = LLMJudge(LLMClient(role, None, 1, name="judge")).judge(task, trajectory, reward, "u")
    assert "llm_error" not in judgment.structured, judgment.structured.get("llm_error")
    assert judgment.judge == "llm" and judgment.explanation


def test_bench_local_plays_the_same_episodes_on_both_prompt_caches() -> None:
    from taskforge.llm.local_bench import LocalBenchOptions, run_local_bench

    arms_seen: list[str] = []
    options = LocalBenchOptions(
        tasks=REPO / "datasets" / "retail" / "seed_tasks.json", limit=1, max_steps=2, threads=1
    )
    report = run_local_bench(options, arms_seen.append)
    assert arms_seen == ["ram_cache", "context_pool"] and report["episodes"] == 1
    for arm in report["arms"].values():
        assert arm["episodes_per_min"] > 0 and arm["completion_tokens"] > 0
        assert arm["server_peak_rss_mb"] > 100  # the model is loaded
    assert report["arms"]["ram_cache"]["prompt_cache"] == "ram"
    assert report["arms"]["context_pool"]["contexts"] == 4
    assert report["episodes_per_min_ratio"] > 0 and report["peak_rss_ratio"] > 0
