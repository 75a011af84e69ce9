"""The local server's chat format: compact tools in ChatML, replies parsed into tool calls."""

from __future__ import annotations

import json

from taskforge.domains import get_domain
from taskforge.llm.client import parse_tool_call
from taskforge.llm.local_chat import (
    TEXT_MARK,
    forced_prefix,
    parse_reply,
    render_prompt,
    tool_line,
)

TOOLS = get_domain("retail").toolkit_cls.openai_schemas()


def _by_name(name: str) -> dict:
    return next(t for t in TOOLS if t["function"]["name"] == name)


def test_a_tool_is_one_line_with_its_arguments_and_types() -> None:
    line = tool_line(_by_name("cancel_pending_order"))
    assert line.startswith("cancel_pending_order(order_id: string, reason: string) - Cancel")
    assert "\n" not in line and len(line) < 200


def test_prompt_renders_every_turn_and_the_tool_results() -> None:
    messages = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Cancel #W1."},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "c1", "type": "function",
             "function": {"name": "get_order_details", "arguments": '{"order_id": "#W1"}'}},
        ]},
        {"role": "tool", "tool_call_id": "c1", "content": "Error: Order not found"},
        {"role": "assistant", "content": "It does not exist."},
    ]  # fmt: skip
    prompt = render_prompt(messages, TOOLS)
    assert prompt.count("<|im_start|>") == 6 and prompt.endswith("<|im_start|>assistant\n")
    assert '{"name": "get_order_details", "arguments": {"order_id": "#W1"}}' in prompt
    assert "<|im_start|>tool\nError: Order not found<|im_end|>" in prompt
    assert f"{TEXT_MARK} It does not exist." in prompt
    assert all(t["function"]["name"] in prompt for t in TOOLS)
    assert len(prompt) < 6000  # compact: one line per tool, not its JSON schema
    assert "# Tools" not in render_prompt(messages[:2], None)


def test_a_json_reply_is_a_tool_call_and_text_stays_text() -> None:
    content, calls = parse_reply(
        '{"name": "get_order_details", "arguments": {"order_id": "#W1"}}', "c"
    )
    assert content is None and calls[0]["function"]["name"] == "get_order_details"
    assert json.loads(calls[0]["function"]["arguments"]) == {"order_id": "#W1"}
    assert parse_reply("Sure, which order?", "c") == ("Sure, which order?", [])


def test_a_truncated_call_keeps_its_raw_text_and_becomes_an_error_turn_not_a_crash() -> None:
    _, calls = parse_reply('{"name": "cancel_pending_order", "arguments": {"order_id": "#W', "c")
    call = parse_tool_call(calls[0])
    assert call.name == "cancel_pending_order" and call.arguments == {}
    assert call.raw_arguments is not None and call.raw_arguments.startswith('{"name"')


def test_required_and_named_tool_choices_force_the_start_of_a_call() -> None:
    assert forced_prefix("auto") == "" and forced_prefix("required") == '{"name": "'
    named = forced_prefix({"type": "function", "function": {"name": "calculate"}})
    assert named == '{"name": "calculate", "arguments": '
