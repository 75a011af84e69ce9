"""A rollout whose LLM config has a real judge role judges the tasks' NL assertions."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml

from taskforge.contracts import Task
from taskforge.contracts.io import load_tasks
from taskforge.domains.retail.seed import task_kind
from taskforge.rollout.api import RolloutRequest, run_rollout
from tests.fake_openai_server import FakeOpenAIServer, fake_role, text_reply, tool_call_reply
from tests.nl_tasks import with_nl_assertions

REPO = Path(__file__).resolve().parents[2]
SEED_TASKS = load_tasks(REPO / "datasets" / "retail" / "seed_tasks.json")
ASSERTIONS = ["Agent should cancel the order.", "Agent should offer a discount."]


def _config(tmp_path: Path, url: str, monkeypatch: pytest.MonkeyPatch, judge: bool) -> Path:
    config: dict[str, Any] = {
        name: fake_role(url, monkeypatch, f"openai/fake-{name}", temperature=0.0)
        for name in ("policy", "user", "judge")[: 3 if judge else 2]
    }
    config["cache_dir"] = str(tmp_path / "cache")
    path = tmp_path / f"llm-{judge}.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def _script(task: Task) -> Any:
    write = task.gold_actions()[-1]
    args = {"order_id": write.arguments["order_id"], "reason": write.arguments["reason"]}

    def script(body: dict[str, Any]) -> dict[str, Any]:
        messages = body["messages"]
        if body["model"] == "fake-judge":
            said = "discount" not in messages[-1]["content"].split("Statement:")[-1]
            return text_reply("YES, it did." if said else "NO, no discount was offered.")
        if "tools" not in body:  # the user simulator
            done = any("cancelled" in (m.get("content") or "") for m in messages)
            return text_reply("###STOP###" if done else f"Cancel {args['order_id']}.")
        if not any(m["role"] == "tool" for m in messages):
            return tool_call_reply("cancel_pending_order", args, "c1")
        return text_reply("It is cancelled.")

    return script


def _trajectory(shard: str) -> dict[str, Any]:
    records = [orjson.loads(line) for line in Path(shard).read_bytes().splitlines()]
    return next(r["trajectory"] for r in records if r["type"] == "trajectory")


@pytest.mark.parametrize("judge", [True, False])
def test_rollout_stores_nl_verdicts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, judge: bool
) -> None:
    task = with_nl_assertions(
        next(t for t in SEED_TASKS if task_kind(t) == "cancel_pending_order"), ASSERTIONS
    )
    tasks = tmp_path / "tasks.json"
    tasks.write_text(json.dumps([task.model_dump(mode="json", exclude_none=True)]))
    with FakeOpenAIServer(_script(task)) as server:
        request = RolloutRequest(
            tasks_path=tasks,
            trials=1,
            config_path=_config(tmp_path, server.url, monkeypatch, judge),
            out_dir=tmp_path / "out",
            warehouse=tmp_path / "w.duckdb",
        )
        result = run_rollout(request)
        judged = [r for r in server.requests if r["model"] == "fake-judge"]
    info = _trajectory(result["shard"])["reward_info"]
    assert info["db_check"]["db_match"]
    if not judge:  # offline judge role: skipped, exactly as before
        assert info["skipped"] == ["NL_ASSERTION"] and "nl_assertions" not in info
        assert info["reward"] == 1.0 and not judged
        return
    assert len(judged) == 2 and "skipped" not in info
    assert [c["met"] for c in info["nl_assertions"]] == [True, False]
    assert info["nl_assertions"][1]["justification"] == "no discount was offered"
    assert info["reward_breakdown"] == {"DB": 1.0, "NL_ASSERTION": 0.0}
    assert info["reward"] == 0.0 and result["pass_k"][1] == 0.0
