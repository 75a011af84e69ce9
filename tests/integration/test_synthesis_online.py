"""The LLM roles of synthesis (explorer, writer, agreement check) through LiteLLM against a
scripted OpenAI-compatible server on 127.0.0.1: the real code path, scripted answers."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from taskforge.cli.app import app
from taskforge.contracts import Task
from taskforge.contracts.io import load_tasks
from taskforge.domains import get_domain
from taskforge.domains.retail.blueprints import candidates, order_hint
from taskforge.env.db import Database
from taskforge.llm import LLMClient, RoleConfig
from taskforge.synthesis.agreement import AgreementCheck
from taskforge.synthesis.blueprints import sample_blueprints
from taskforge.synthesis.llm import AnswerError
from taskforge.synthesis.llm_writer import FACTS_NOTE, LLM_WRITER, LLMWriter
from taskforge.synthesis.verify import targets_identified, verify_task
from taskforge.synthesis.writer import blueprint_facts
from tests.fake_openai_server import FakeOpenAIServer, text_reply, tool_call_reply

DOM = get_domain("retail")
CANCEL = "cancel_pending_order"


@pytest.fixture(scope="module")
def db() -> Database:
    return DOM.load_db()


def _client(url: str, monkeypatch: pytest.MonkeyPatch, name: str) -> LLMClient:
    monkeypatch.setenv("FAKE_SERVER_KEY", "not-a-real-key")
    role = RoleConfig(
        model=f"openai/fake-{name}", api_base=url, api_key_env="FAKE_SERVER_KEY", temperature=0
    )
    return LLMClient(role, name=name)


# -- what the scripted server answers -------------------------------------------------------


def _plan(db: Database, user_id: str) -> tuple[str, str] | None:
    """A pending order of the user singled out by a product among several: (order, hint)."""
    user = db.tables["users"][user_id]
    for oid in candidates(db, user, CANCEL):
        if len(candidates(db, user, CANCEL)) < 2:
            return None
        found = order_hint(db, user, db.tables["orders"][oid], CANCEL, random.Random(0))
        if found is not None:
            return oid, found[0]
    return None


def _explorer_reply(db: Database, messages: list[dict[str, Any]]) -> dict[str, Any]:
    user_id = re.search(r"\(user id (\S+)\)", messages[0]["content"]).group(1)  # type: ignore[union-attr]
    plan = _plan(db, user_id)
    steps = sum(m["role"] == "tool" for m in messages)
    if plan is None:
        return text_reply("This customer has no fitting situation.")
    calls = [
        ("get_user_details", {"user_id": user_id}),
        ("get_order_details", {"order_id": plan[0]}),
        (CANCEL, {"order_id": plan[0], "reason": "no longer needed"}),
    ]
    if steps < len(calls):
        return tool_call_reply(*calls[steps], call_id=f"c{steps}")
    return text_reply("Done: one of two orders sharing a product is cancelled.")


def _scenario(prompt: str) -> dict[str, str]:
    """What a good writer would answer, built from the facts in its prompt."""
    name = re.search(r"Name: (.+?)\. Identifies with", prompt).group(1)  # type: ignore[union-attr]
    email = re.search(r"email address (\S+)\.\n", prompt)
    zip_code = re.search(r"zip code (\d+)\.", prompt)
    known = f"You are {name}; " + (
        f"your email is {email.group(1)}." if email else f"your zip code is {zip_code.group(1)}."  # type: ignore[union-attr]
    )
    hint = re.search(r"order containing the (.+?) \(id unknown\)", prompt)
    order = f"the pending order with the {hint.group(1)} in it" if hint else "your order"
    return {
        "reason_for_call": f"You want to cancel {order}, because you no longer need it.",
        "known_info": known,
        "unknown_info": "You do not remember your order ids.",
        "task_instructions": "Confirm with 'yes' when the agent names that order, then stop.",
    }


def _script(db: Database, agree: bool = True) -> Any:
    def answer(body: dict[str, Any]) -> dict[str, Any]:
        messages = body["messages"]
        first = messages[0]["content"]
        if "tools" in body:
            return _explorer_reply(db, messages)
        if first.startswith("You write the customer's side"):
            return text_reply(json.dumps(_scenario(first)))
        if first.startswith("You check one practice task"):
            why = "It asks for the cancellation." if agree else "It asks for another order."
            return text_reply(json.dumps({"agree": agree, "explanation": why}))
        return text_reply("?")

    return answer


# -- the tests ---------------------------------------------------------------------------------


def test_a_scenario_without_identity_still_states_the_blueprints_facts(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What a 135M writer does: a real sentence, no customer, no order; the task is complete."""
    [bp] = sample_blueprints(db, "multi_order", 1, 0)
    vague = {
        "reason_for_call": "You want to cancel something you bought.",
        "known_info": "You like the store.",
        "unknown_info": "",
        "task_instructions": "Be polite and end the call when it is done.",
    }
    with FakeOpenAIServer([text_reply(json.dumps(vague))]) as server:
        task = LLMWriter(_client(server.url, monkeypatch, "writer")).write(bp, "t0")
    known = task.user_scenario.instructions.known_info  # type: ignore[union-attr]
    assert known == f"{blueprint_facts(bp, 't0')} You like the store."
    assert task.description is not None and task.description.notes.endswith(FACTS_NOTE)  # type: ignore[union-attr]
    assert targets_identified(task, DOM.toolkit_cls, db) == []
    assert task.user_scenario.instructions.reason_for_call == vague["reason_for_call"]  # type: ignore[union-attr]
    anonymous = task.model_copy(deep=True)
    anonymous.user_scenario.instructions.known_info = "You like the store."  # type: ignore[union-attr]
    assert targets_identified(anonymous, DOM.toolkit_cls, db)  # without the facts: rejected


def test_writer_retries_an_invalid_answer_then_parses_the_scenario(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    [bp] = sample_blueprints(db, "multi_order", 1, 0)
    with (
        FakeOpenAIServer(
            [text_reply("Sure! Here it is."), text_reply(json.dumps({"reason_for_call": ""}))]
        ) as server,
        pytest.raises(AnswerError, match="invalid answer twice"),
    ):
        LLMWriter(_client(server.url, monkeypatch, "writer")).write(bp, "t0")
    good = text_reply("```json\n" + json.dumps(_scenario(_prompt_of(bp))) + "\n```")
    with FakeOpenAIServer([text_reply("not json"), good]) as server:
        writer = LLMWriter(_client(server.url, monkeypatch, "writer"))
        task = writer.write(bp, "t1")
        assert len(server.requests) == 2
        assert server.requests[0]["response_format"] == {"type": "json_object"}
        assert "could not be used" in server.requests[1]["messages"][-1]["content"]
    assert task.lineage is not None and task.lineage.generator == LLM_WRITER
    assert (
        task.pattern == "wrong_order"
        and [a.name for a in task.gold_actions()][-1] == bp.actions[-1][0]
    )
    assert "in it" in str(task.user_scenario.instructions)
    assert writer.client.meter.calls == 2 and writer.client.meter.prompt_tokens > 0


def _prompt_of(bp: Any) -> str:
    from taskforge.synthesis.llm_writer import render_prompt

    return render_prompt(bp)


@pytest.mark.parametrize("agree", [True, False])
def test_llm_written_tasks_need_the_agreement_check(
    db: Database, monkeypatch: pytest.MonkeyPatch, agree: bool
) -> None:
    [bp] = sample_blueprints(db, "multi_order", 1, 0)
    with FakeOpenAIServer(_script(db, agree)) as server:
        task = LLMWriter(_client(server.url, monkeypatch, "writer")).write(bp, "t")
        check = AgreementCheck(_client(server.url, monkeypatch, "judge"))
        verdict = verify_task(task, DOM.toolkit_cls, db, agreement=check)
        unchecked = verify_task(task, DOM.toolkit_cls, db)
    assert verdict.accepted is agree, verdict.reasons
    assert not unchecked.accepted and "not checked" in unchecked.reasons[-1]
    if not agree:
        assert "another order" in verdict.reasons[-1]
        return
    assert verdict.certificate is not None
    record = verdict.certificate.checks["llm_agreement"]
    assert record["agree"] is True and record["model"] == "openai/fake-judge"
    stored = task.model_copy(update={"certificate": verdict.certificate})
    assert verify_task(stored, DOM.toolkit_cls, db).accepted  # offline, from the stored check
    edited = Task.model_validate(
        {
            **stored.model_dump(mode="json", exclude_none=True),
            "user_scenario": {"instructions": "Cancel something."},
        }
    )
    assert "not checked" in " ".join(verify_task(edited, DOM.toolkit_cls, db).reasons)


def test_synthesize_with_a_config_explores_writes_and_checks(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_SERVER_KEY", "not-a-real-key")
    out = tmp_path / "tasks.json"
    with FakeOpenAIServer(_script(db)) as server:
        role = {"api_base": server.url, "api_key_env": "FAKE_SERVER_KEY", "temperature": 0.0}
        config = {
            "explorer": {"model": "openai/fake-explorer", **role},
            "writer": {"model": "openai/fake-writer", **role},
            "judge": {"model": "openai/fake-judge", **role},
        }
        path = tmp_path / "llm.yaml"
        path.write_text(yaml.safe_dump(config))
        args = ["synthesize", "--pattern", "wrong_order", "--n", "2", "--config", str(path)]
        result = CliRunner().invoke(
            app, [*args, "--embedder", "hashing", "--out", str(out), "--json"]
        )
        assert result.exit_code == 0, result.stderr
        tools_used = {
            c["function"]["name"]
            for r in server.requests
            for m in r["messages"]
            for c in m.get("tool_calls") or []
        }
    summary = json.loads(result.stdout)
    assert summary["families"]["multi_order"]["accepted"] >= 1
    assert summary["llm_calls"] > 0 and summary["llm_tokens"] > 0
    assert CANCEL in tools_used
    for task in load_tasks(out):
        assert task.lineage is not None
        assert task.lineage.generator == f"{LLM_WRITER}+llm-explorer-v1"
        assert task.certificate is not None
        assert task.certificate.checks["llm_agreement"]["agree"] is True
        assert [a.name for a in task.gold_actions()][-1] == CANCEL
    again = CliRunner().invoke(app, ["verify", str(out), "--json"])  # no LLM: stored checks
    assert json.loads(again.stdout)["summary"]["acceptance_rate"] == 1.0
