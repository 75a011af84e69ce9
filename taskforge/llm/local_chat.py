"""The local server's chat format: ChatML prompts with compact tools, replies parsed to tool calls.

Small local models (SmolLM2-135M) know ChatML but no tool-calling convention, so the format is
spelled out in the system turn and kept short (prompt processing dominates on a CPU):

* each offered tool is one line, ``name(arg: type, arg: "a"|"b", ...) - first sentence``;
* a tool call is a reply holding one JSON object ``{"name": ..., "arguments": {...}}``;
* earlier tool calls are rendered in that form, tool results as ``tool`` turns.

:func:`parse_reply` turns the model's text back into OpenAI ``tool_calls``. A reply that
starts a call but is not valid JSON (truncated, bad quoting) still becomes a tool call, with
its raw text as ``arguments``: taskforge's client keeps the string and the environment
answers with an error turn, so a malformed call is a recorded error, never a crash. A call of
a tool that was not offered is passed on as it is (the environment rejects it).
"""

from __future__ import annotations

import json
import re
from typing import Any

IM_START, IM_END = "<|im_start|>", "<|im_end|>"
STOP = [IM_END, IM_START]
CALL_PREFIX = '{"name": "'
TEXT_MARK = "message:"
"""What the model writes first to answer in text when it may call a tool (then dropped)."""

_FORMAT = (
    "\n\n# Tools\nTo call a tool, reply with one JSON object and nothing else, e.g.\n"
    "{example}\nTo talk to the user, start the reply with message: and write it.\n"
    "Tools:\n{lines}"
)
_NAME = re.compile(r'"name"\s*:\s*"([^"]*)"')


def _type(schema: dict[str, Any]) -> str:
    if "enum" in schema:
        return "|".join(json.dumps(v) for v in schema["enum"])
    kind = schema.get("type", "any")
    if kind == "array":
        return f"list[{_type(schema.get('items') or {})}]"
    return str(kind)


def tool_line(tool: dict[str, Any]) -> str:
    """One OpenAI function schema as ``name(arg: type, ...) - first sentence``."""
    function = tool.get("function", tool)
    params = (function.get("parameters") or {}).get("properties") or {}
    args = ", ".join(f"{name}: {_type(spec)}" for name, spec in params.items())
    about = str(function.get("description") or "").strip().split("\n")[0]
    about = about.split(". ")[0].rstrip(".")
    return f"{function.get('name')}({args})" + (f" - {about}" if about else "")


def _example(tools: list[dict[str, Any]]) -> str:
    function = tools[0].get("function", tools[0])
    params = list((function.get("parameters") or {}).get("properties") or {})[:1]
    return json.dumps({"name": function.get("name"), "arguments": {p: "..." for p in params}})


def system_text(system: str, tools: list[dict[str, Any]] | None) -> str:
    """The system turn: the caller's text, then the tools and the call format."""
    if not tools:
        return system
    lines = "\n".join(tool_line(t) for t in tools)
    return system + _FORMAT.format(example=_example(tools), lines=lines)


def _call_text(call: dict[str, Any]) -> str:
    function = call.get("function") or {}
    arguments = function.get("arguments")
    try:
        decoded = json.loads(arguments) if isinstance(arguments, str) else arguments
    except json.JSONDecodeError:
        return f'{CALL_PREFIX}{function.get("name")}", "arguments": {arguments}}}'
    return json.dumps({"name": function.get("name"), "arguments": decoded})


def _turn(role: str, text: str) -> str:
    return f"{IM_START}{role}\n{text}{IM_END}\n"


def render_prompt(messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None) -> str:
    """The ChatML prompt of an OpenAI chat request, ending with the assistant's header."""
    parts: list[str] = []
    system = "\n\n".join(str(m.get("content") or "") for m in messages if m["role"] == "system")
    if system or tools:
        parts.append(_turn("system", system_text(system, tools)))
    for message in messages:
        role, text = message["role"], str(message.get("content") or "")
        if role == "assistant" and message.get("tool_calls"):
            calls = "\n".join(_call_text(c) for c in message["tool_calls"])
            parts.append(_turn("assistant", f"{text}\n{calls}".strip()))
        elif role == "assistant" and tools:
            parts.append(_turn(role, f"{TEXT_MARK} {text}"))
        elif role in ("user", "assistant", "tool"):
            parts.append(_turn(role, text))
    parts.append(f"{IM_START}assistant\n")
    return "".join(parts)


def parse_reply(text: str, call_id: str) -> tuple[str | None, list[dict[str, Any]]]:
    """The reply's text content and its tool calls (OpenAI shape), see the module doc."""
    start = text.find("{")
    if start < 0 or not _NAME.search(text[start:]):
        return text.strip() or None, []
    try:
        obj, _ = json.JSONDecoder().raw_decode(text[start:])
    except json.JSONDecodeError:
        obj = None
    if isinstance(obj, dict) and isinstance(obj.get("name"), str):
        name, raw = obj["name"], json.dumps(obj.get("arguments", {}))
    else:  # an attempted call that is not valid JSON: keep the raw text as arguments
        match = _NAME.search(text[start:])
        name, raw = (match.group(1) if match else ""), text[start:].strip()
    call = {"id": call_id, "type": "function", "function": {"name": name, "arguments": raw}}
    return text[:start].strip() or None, [call]


def forced_prefix(tool_choice: Any) -> str:
    """Text the reply is made to start with: a call when the request requires one."""
    if tool_choice == "required":
        return CALL_PREFIX
    if isinstance(tool_choice, dict) and tool_choice.get("type") == "function":
        name = (tool_choice.get("function") or {}).get("name", "")
        return f'{CALL_PREFIX}{name}", "arguments": '
    return ""
