"""Tool schemas from signatures and docstrings; agent mistakes become error messages."""

from __future__ import annotations

import pytest

from taskforge.contracts import ToolCall
from taskforge.domains.retail import RetailDatabase, RetailTools
from taskforge.env.environment import Environment
from taskforge.env.toolkit import Toolkit, ToolType, tool


class _Tools(Toolkit):
    @tool(ToolType.READ)
    def echo(self, words: list[str], times: int = 1) -> str:
        """Repeat words.

        Args:
            words: The words to repeat.
            times: How often.
        """
        return " ".join(words * times)


def test_schema_comes_from_signature_and_docstring() -> None:
    schema = _Tools.specs["echo"].schema["function"]
    assert schema["description"] == "Repeat words."
    props = schema["parameters"]["properties"]
    assert props["words"] == {
        "description": "The words to repeat.",
        "items": {"type": "string"},
        "title": "Words",
        "type": "array",
    }
    assert props["times"]["type"] == "integer" and props["times"]["default"] == 1
    assert schema["parameters"]["required"] == ["words"]


def test_undocumented_argument_is_refused_at_class_creation() -> None:
    with pytest.raises(TypeError, match="not documented"):

        class _Bad(Toolkit):
            @tool(ToolType.READ)
            def f(self, x: str) -> str:
                """No args section."""
                return x


@pytest.mark.parametrize(
    ("name", "arguments", "expected"),
    [
        ("nope", {}, "Error: Tool 'nope' not found."),
        (
            "get_order_details",
            {},
            "Error: invalid argument order_id for get_order_details: Field required",
        ),
        (
            "get_order_details",
            {"order_id": 5},
            "Error: invalid argument order_id for get_order_details: Input should be a valid str",
        ),
        (
            "get_order_details",
            {"order_id": "#W1", "x": 1},
            "Error: unexpected argument(s) for get_order_details: x",
        ),
        ("get_order_details", '{"order_id": ', "Error: arguments are not valid JSON"),
        ("get_order_details", "[1]", "Error: arguments must be a JSON object"),
        (
            "return_delivered_order_items",
            {"order_id": "#W1", "item_ids": "1", "payment_method_id": "p"},
            "Error: invalid argument item_ids",
        ),
        ("get_order_details", {"order_id": "#W0"}, "Error: Order not found"),
    ],
)
def test_agent_mistakes_become_error_messages(
    shipped_db: RetailDatabase, name: str, arguments: dict | str, expected: str
) -> None:
    env = Environment(RetailTools, shipped_db)
    output, error = env.execute(name, arguments)
    assert error and output.startswith(expected)


def test_step_answers_a_malformed_call_with_a_tool_message(shipped_db: RetailDatabase) -> None:
    env = Environment(RetailTools, shipped_db)
    call = ToolCall(id="c1", name="get_user_details", arguments={}, raw_arguments="{oops")
    message = env.step(call)
    assert message.role == "tool" and message.id == "c1" and message.error
    assert message.content is not None and message.content.startswith(
        "Error: arguments are not valid JSON"
    )
