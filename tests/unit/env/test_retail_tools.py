"""The Retail toolkit agrees with tau2-bench: schemas, outputs, errors and effects."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from taskforge.contracts.io import load_results
from taskforge.domains.retail import RetailDatabase, RetailTools
from taskforge.env.environment import Environment
from taskforge.env.schema import load_schema_overrides
from taskforge.errors import DataError

WRITES = {
    "cancel_pending_order",
    "exchange_delivered_order_items",
    "modify_pending_order_address",
    "modify_pending_order_items",
    "modify_pending_order_payment",
    "modify_user_address",
    "return_delivered_order_items",
}


def _shape(parameters: dict[str, Any]) -> dict[str, Any]:
    props = {
        name: {k: v for k, v in spec.items() if k not in ("description", "title")}
        for name, spec in parameters["properties"].items()
    }
    return {"properties": props, "required": parameters.get("required", [])}


def test_schemas_equal_tau2_in_names_types_items_and_required(tau2_dir: Path) -> None:
    theirs = {
        s["function"]["name"]: s for s in json.loads((tau2_dir / "tool_schemas.json").read_text())
    }
    ours = {s["function"]["name"]: s for s in RetailTools.openai_schemas()}
    assert sorted(ours) == sorted(theirs) and len(ours) == 16
    for name, schema in theirs.items():
        assert list(ours[name]["function"]["parameters"]["properties"]) == list(
            schema["function"]["parameters"]["properties"]
        ), name
        assert _shape(ours[name]["function"]["parameters"]) == _shape(
            schema["function"]["parameters"]
        )
        assert ours[name]["function"]["description"] != schema["function"]["description"]


def test_tool_kinds() -> None:
    kinds = {name: spec.kind.value for name, spec in RetailTools.specs.items()}
    assert {n for n, k in kinds.items() if k == "write"} == WRITES
    assert {n for n, k in kinds.items() if k == "generic"} == {
        "calculate",
        "transfer_to_human_agents",
    }
    assert sum(k == "read" for k in kinds.values()) == 7


def test_schema_overrides_substitute_exact_schemas(tau2_dir: Path, tmp_path: Path) -> None:
    path = tau2_dir / "tool_schemas.json"
    shown = load_schema_overrides(path, RetailTools.specs)
    assert shown == json.loads(path.read_text())
    partial = tmp_path / "partial.json"
    partial.write_text(json.dumps(shown[:3]))
    with pytest.raises(DataError, match="no schema for tool"):
        load_schema_overrides(partial, RetailTools.specs)


def test_outputs_equal_tau2_recorded_outputs(tau2_dir: Path, tau2_db: RetailDatabase) -> None:
    """Replaying every recorded call gives tau2's exact output, except the documented fix."""
    results = load_results(tau2_dir / "results" / "gpt-4.1_retail_test_1trial.json")
    same, different = 0, []
    for sim in results.simulations:
        env, calls = Environment(RetailTools, tau2_db), {}
        for message in sim.messages:
            calls.update({c.id: c for c in message.tool_calls or []})
            if message.role == "tool":
                call = calls[message.id]
                output, _ = env.execute(call.name, call.arguments)
                if output == message.content:
                    same += 1
                else:
                    different.append((call, json.loads(output), json.loads(message.content or "")))
    assert same >= 290
    for call, ours, theirs in different:
        assert call.name == "modify_pending_order_items"
        for mine, recorded in zip(ours["items"], theirs["items"], strict=True):
            assert {k: v for k, v in mine.items() if k not in ("price", "options")} == {
                k: v for k, v in recorded.items() if k not in ("price", "options")
            }


def _pending_order_with_gift_card(db: RetailDatabase) -> tuple[str, dict[str, Any]]:
    for order_id, order in db.tables["orders"].items():
        pay = order["payment_history"][0]["payment_method_id"]
        if (
            order["status"] == "pending"
            and pay.startswith("gift_card")
            and len(order["payment_history"]) == 1
        ):
            return order_id, order
    raise AssertionError("no pending gift-card order")


def test_cancel_refunds_gift_card_at_once(shipped_db: RetailDatabase) -> None:
    order_id, order = _pending_order_with_gift_card(shipped_db)
    card_id, amount = (
        order["payment_history"][0]["payment_method_id"],
        order["payment_history"][0]["amount"],
    )
    before = shipped_db.tables["users"][order["user_id"]]["payment_methods"][card_id]["balance"]
    env = Environment(RetailTools, shipped_db)
    assert env.execute(
        "cancel_pending_order", {"order_id": order_id, "reason": "changed mind"}
    ) == (
        "Error: Invalid reason",
        True,
    )
    output, error = env.execute(
        "cancel_pending_order", {"order_id": order_id, "reason": "no longer needed"}
    )
    assert not error and json.loads(output)["status"] == "cancelled"
    after = env.state.get("users", order["user_id"])["payment_methods"][card_id]["balance"]
    assert after == round(before + amount, 2)
    assert env.execute(
        "cancel_pending_order", {"order_id": order_id, "reason": "no longer needed"}
    ) == (
        "Error: Non-pending order cannot be cancelled",
        True,
    )


def test_modify_items_gives_each_item_its_own_variant(shipped_db: RetailDatabase) -> None:
    """The fix of tau2 issues 317/318: prices and options follow each item's new variant."""
    env = Environment(RetailTools, shipped_db)
    for order_id, order in shipped_db.tables["orders"].items():  # noqa: B007 (used after break)
        if order["status"] != "pending" or len({i["product_id"] for i in order["items"]}) < 2:
            continue
        olds, news = [], []
        for item in order["items"][:2]:
            variants = shipped_db.tables["products"][item["product_id"]]["variants"]
            new = next(
                (v for k, v in variants.items() if k != item["item_id"] and v["available"]), None
            )
            if new is not None:
                olds.append(item["item_id"])
                news.append(new)
        if len(news) == 2 and news[0]["price"] != news[1]["price"]:
            break
    else:
        pytest.skip("no suitable order")
    method = order["payment_history"][0]["payment_method_id"]
    args = {
        "order_id": order_id,
        "item_ids": olds,
        "new_item_ids": [n["item_id"] for n in news],
        "payment_method_id": method,
    }
    output, error = env.execute("modify_pending_order_items", args)
    assert not error, output
    items = {i["item_id"]: i for i in json.loads(output)["items"]}
    for new in news:
        assert items[new["item_id"]]["price"] == new["price"]
        assert items[new["item_id"]]["options"] == new["options"]
    assert json.loads(output)["status"] == "pending (item modified)"


def test_return_requires_original_method_or_gift_card(shipped_db: RetailDatabase) -> None:
    env = Environment(RetailTools, shipped_db)
    for order_id, order in shipped_db.tables["orders"].items():  # noqa: B007 (used after break)
        user = shipped_db.tables["users"][order["user_id"]]
        original = order["payment_history"][0]["payment_method_id"]
        other = [
            m
            for m in user["payment_methods"].values()
            if m["id"] != original and m["source"] != "gift_card"
        ]
        if order["status"] == "delivered" and other:
            break
    else:
        pytest.skip("no suitable order")
    item = order["items"][0]["item_id"]
    args = {"order_id": order_id, "item_ids": [item], "payment_method_id": other[0]["id"]}
    assert env.execute("return_delivered_order_items", args) == (
        "Error: Payment method should be the original payment method",
        True,
    )
    args["payment_method_id"] = original
    output, error = env.execute("return_delivered_order_items", args)
    assert not error and json.loads(output)["return_items"] == [item]


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("2 + 2", "4.0"),
        ("(10 - 4) / 3", "2.0"),
        ("1/3", "0.33"),
        ("-2 * 3.5", "-7.0"),
        ("2 ** 8", "256.0"),
        ("7 // 2", "3.0"),
        ("2 ** 99999", "Error: Invalid expression"),
        ("2 ^ 8", "Error: Invalid characters in expression"),
        ("__import__('os')", "Error: Invalid characters in expression"),
        ("1 / 0", "Error: division by zero"),
        ("(1 +", "Error: Invalid expression"),
    ],
)
def test_calculate(shipped_db: RetailDatabase, expression: str, expected: str) -> None:
    output, _ = Environment(RetailTools, shipped_db).execute(
        "calculate", {"expression": expression}
    )
    assert output.startswith(expected)


def test_list_all_product_types_is_sorted_json(shipped_db: RetailDatabase) -> None:
    output, _ = Environment(RetailTools, shipped_db).execute("list_all_product_types", {})
    names = json.loads(output)
    assert list(names) == sorted(names) and len(names) == len(shipped_db.tables["products"])
