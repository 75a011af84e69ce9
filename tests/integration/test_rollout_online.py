"""A Retail episode through LiteLLM against a scripted OpenAI-compatible server on 127.0.0.1."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from taskforge.contracts import Task
from taskforge.contracts.io import load_tasks
from taskforge.domains.retail.seed import task_kind
from taskforge.rollout.api import RolloutRequest, run_rollout
from taskforge.warehouse import Warehouse
from tests.fake_openai_server import FakeOpenAIServer, text_reply, tool_call_reply

REPO = Path(__file__).resolve().parents[2]
SEED_TASKS = load_tasks(REPO / "datasets" / "retail" / "seed_tasks.json")


def _config(tmp_path: Path, url: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("FAKE_SERVER_KEY", "not-a-real-key")
    role = {"api_base": url, "api_key_env": "FAKE_SERVER_KEY", "temperature": 0.0}
    config = {
        "policy": {"model": "openai/fake-policy", **role},
        "user": {"model": "openai/fake-user", **role},
        "cache_dir": str(tmp_path / "cache"),
    }
    path = tmp_path / "llm.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def _tasks_file(tmp_path: Path, tasks: list[Task]) -> Path:
    path = tmp_path / "tasks.json"
    path.write_text(json.dumps([t.model_dump(mode="json", exclude_none=True) for t in tasks]))
    return path


def _cancel_script(task: Task) -> Any:
    write = task.gold_actions()[-1]
    order_id, reason = write.arguments["order_id"], write.arguments["reason"]

    def script(body: dict[str, Any]) -> dict[str, Any]:
        messages = body["messages"]
        if "tools" not in body:  # the user simulator
            said = " ".join(m.get("content") or "" for m in messages if m["role"] == "user")
            return text_reply("###STOP###" if "cancelled" in said else f"Cancel {order_id}.")
        n_tools = sum(m["role"] == "tool" for m in messages)
        replies = [
            tool_call_reply("get_order_details", '{"order_id": "#W', "c0"),  # malformed JSON
            tool_call_reply("get_order_details", {"order_id": order_id}, "c1"),
            tool_call_reply("cancel_pending_order", {"order_id": order_id, "reason": reason}, "c2"),
        ]
        return replies[n_tools] if n_tools < len(replies) else text_reply("It is cancelled.")

    return script


def test_full_episode_through_litellm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    task = next(t for t in SEED_TASKS if task_kind(t) == "cancel_pending_order")
    with FakeOpenAIServer(_cancel_script(task)) as server:
        request = RolloutRequest(
            tasks_path=_tasks_file(tmp_path, [task]),
            trials=1,
            config_path=_config(tmp_path, server.url, monkeypatch),
            out_dir=tmp_path / "out",
            warehouse=tmp_path / "w.duckdb",
        )
        result = run_rollout(request)
        assert any("tools" in r for r in server.requests) and len(server.requests) >= 6
    assert result["pass_k"][1] == 1.0 and result["episodes_played"] == 1
    with Warehouse.open(tmp_path / "w.duckdb", read_only=True) as wh:
        traj = wh.query("SELECT * FROM trajectories").to_dicts()
        calls = wh.query(
            "SELECT name, is_error, result FROM tool_calls ORDER BY msg_idx"
        ).to_dicts()
    assert len(traj) == 1 and traj[0]["reward"] == 1.0 and traj[0]["db_match"]
    assert traj[0]["termination_reason"] == "user_stop" and traj[0]["prompt_tokens"] > 0
    assert calls[0]["is_error"] and calls[0]["result"].startswith("Error: arguments are not valid")
    assert [c["name"] for c in calls] == ["get_order_details"] * 2 + ["cancel_pending_order"]


def _short_script(body: dict[str, Any]) -> dict[str, Any]:
    if "tools" not in body:
        return text_reply("###STOP###" if len(body["messages"]) > 3 else "Hello.")
    if not any(m["role"] == "tool" for m in body["messages"]):
        return tool_call_reply("list_all_product_types", {}, "c0")
    return text_reply("We sell many things.")


def test_concurrency_speeds_up_64_episodes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tasks = _tasks_file(tmp_path, SEED_TASKS[:16])
    seconds = {}
    with FakeOpenAIServer(_short_script, latency_s=0.02) as server:
        config = _config(tmp_path, server.url, monkeypatch)
        for concurrency in (1, 16):
            request = RolloutRequest(
                tasks_path=tasks,
                trials=4,
                config_path=config,
                concurrency=concurrency,
                cache=False,
                out_dir=tmp_path / f"out{concurrency}",
                warehouse=tmp_path / f"w{concurrency}.duckdb",
            )
            start = time.perf_counter()
            result = run_rollout(request)
            seconds[concurrency] = time.perf_counter() - start
            assert result["episodes_played"] == 64
    print(
        f"64 episodes: concurrency 1 {seconds[1]:.2f} s, 16 {seconds[16]:.2f} s, "
        f"ratio x{seconds[1] / seconds[16]:.1f}"
    )
    assert seconds[16] < seconds[1]
