"""The environment's tools as verl tools: full JSON schemas, one DB per episode."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest

# a submodule: this folder is itself named verl, and would pass for the package
pytest.importorskip(
    "verl.experimental.agent_loop", reason="verl is not installed (pip install -e '.[verl]')"
)

from verl.tools.schemas import OpenAIFunctionToolSchema
from verl.tools.tool_registry import initialize_tools_from_config

from taskforge.contracts import Task
from taskforge.domains import get_domain
from taskforge.env.db import Database
from taskforge.export import ExportResult
from trainer_adapters.verl.episode import Episode
from trainer_adapters.verl.tools import EPISODE_ATTR, ERROR_KEY, EnvTool, FullToolSchema

RETAIL = get_domain("retail")


def _dump(schema: OpenAIFunctionToolSchema) -> dict:
    return schema.model_dump(exclude_unset=True, exclude_none=True)  # as ToolAgentLoop does


def test_verls_schema_class_drops_items_and_ours_keeps_them() -> None:
    schema = RETAIL.toolkit_cls.specs["return_delivered_order_items"].schema
    lossy = _dump(OpenAIFunctionToolSchema.model_validate(schema))
    assert "items" not in lossy["function"]["parameters"]["properties"]["item_ids"]
    full = _dump(FullToolSchema.model_validate(schema))
    assert full == schema
    assert full["function"]["parameters"]["properties"]["item_ids"]["items"] == {"type": "string"}


def test_the_exported_tool_config_loads_every_tool_with_its_full_schema(
    export: ExportResult,
) -> None:
    tools = initialize_tools_from_config(str(export.out / "configs" / "tools.yaml"))
    assert all(isinstance(t, EnvTool) for t in tools)
    assert {t.name: _dump(t.tool_schema) for t in tools} == {
        name: spec.schema for name, spec in RETAIL.toolkit_cls.specs.items()
    }


def test_a_tool_acts_on_the_calling_episodes_db_only(tasks: list[Task], db: Database) -> None:
    tool = EnvTool({"type": "native", "domain": "retail", "tool": "cancel_pending_order"}, None)
    order = next(o for o in db.tables["orders"].values() if o["status"] == "pending")
    args = {"order_id": order["order_id"], "reason": "no longer needed"}
    first, second = (Episode(f"e{i}", tasks[0], db, RETAIL.toolkit_cls, []) for i in range(2))
    response, _, metrics = asyncio.run(
        tool.execute("id", args, agent_data=SimpleNamespace(**{EPISODE_ATTR: first}))
    )
    assert '"status": "cancelled"' in (response.text or "") and metrics[ERROR_KEY] is False
    assert first.env.state.get("orders", order["order_id"])["status"] == "cancelled"
    assert second.env.state.get("orders", order["order_id"])["status"] == "pending"
    assert db.tables["orders"][order["order_id"]]["status"] == "pending"
    again, _, metrics = asyncio.run(
        tool.execute("id", args, agent_data=SimpleNamespace(**{EPISODE_ATTR: first}))
    )
    assert (again.text or "").startswith("Error:") and metrics[ERROR_KEY] is True
    with pytest.raises(RuntimeError, match="taskforge agent loop"):
        asyncio.run(tool.execute("id", args, agent_data=SimpleNamespace()))
