"""A tau2 file's JSON formatting is read from its bytes so that an export can write it again."""

from __future__ import annotations

import json
from typing import Any

import pytest

from taskforge.export.tau2_results import render
from taskforge.warehouse.ingest.tau2_layout import json_format, record_shapes

DATA = {'ti\\"me': "2026-12-03", "info": {"note": 'caf\u00e9 ": x', "n": [1, 2.5, None]}}


@pytest.mark.parametrize(
    "options",
    [
        {"indent": 2},
        {"indent": 1, "ensure_ascii": False},
        {"indent": "\t"},
        {},
        {"separators": (",", ":")},
        {"separators": (",", ":"), "ensure_ascii": False},
    ],
    ids=["indent2", "indent1-utf8", "tab", "compact-python", "compact-orjson", "compact-utf8"],
)
@pytest.mark.parametrize("newline", ["", "\n"], ids=["no-newline", "newline"])
def test_a_formatting_read_from_bytes_writes_the_same_bytes(
    options: dict[str, Any], newline: str
) -> None:
    raw = (json.dumps(DATA, **options) + newline).encode()
    assert render(DATA, json_format(raw)) == raw


def test_records_of_one_kind_with_different_keys_are_named_inexact() -> None:
    sims = [
        {"id": "a", "messages": [{"role": "user", "content": "hi", "cost": 1}]},
        {"id": "b", "messages": [{"role": "user", "content": "hi", "cost": 0.5, "x": None}]},
    ]
    shapes, inexact = record_shapes(sims)
    assert shapes["simulation"] == ["id", "messages"] and shapes["message"] == {"user": None}
    assert inexact == [
        "a message cost is an integer (the warehouse keeps a float)",
        "messages of role user: 2 key orders",
    ]
