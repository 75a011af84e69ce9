"""The environment's tools as verl tools, acting on each episode's own DB.

verl's schema classes drop every key they do not declare, ``items`` of array parameters
included, so a model trained through them would see ``item_ids: array`` with no element type.
:class:`FullToolSchema` subclasses them and keeps the full JSON schema; :class:`EnvTool` builds
its schema from the taskforge toolkit (or from exact substitute schemas given in the tool
config), so the tool YAML carries no schema at all.

A verl tool object is shared by every episode of a worker; the episode (environment, record)
lives on the agent loop's per-sample state, which verl hands to :meth:`EnvTool.execute` as
``agent_data``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ConfigDict
from verl.tools.base_tool import BaseTool
from verl.tools.schemas import (
    OpenAIFunctionParametersSchema,
    OpenAIFunctionPropertySchema,
    OpenAIFunctionSchema,
    OpenAIFunctionToolSchema,
    ToolResponse,
)

from taskforge.domains import get_domain
from taskforge.env.schema import load_schema_overrides
from taskforge.errors import DataError

EPISODE_ATTR = "taskforge_episode"
"""Attribute of verl's per-sample ``AgentData`` that holds the taskforge episode."""
RAN_KEY, ERROR_KEY = "taskforge_ran", "taskforge_error"
"""Keys of the metrics dict :meth:`EnvTool.execute` returns (verl passes it back to the loop)."""


class FullPropertySchema(OpenAIFunctionPropertySchema):
    """A parameter schema that keeps every JSON-schema key (``items``, ``title``, ...)."""

    model_config = ConfigDict(extra="allow")


class FullParametersSchema(OpenAIFunctionParametersSchema):
    """Parameters whose properties keep their full schemas."""

    model_config = ConfigDict(extra="allow")
    properties: dict[str, FullPropertySchema]  # type: ignore[assignment, unused-ignore]


class FullFunctionSchema(OpenAIFunctionSchema):
    """A function schema whose parameters keep their full schemas."""

    model_config = ConfigDict(extra="allow")
    parameters: FullParametersSchema  # type: ignore[assignment, unused-ignore]


class FullToolSchema(OpenAIFunctionToolSchema):
    """verl's tool schema, lossless: dumps back to the JSON schema it was given."""

    function: FullFunctionSchema  # type: ignore[assignment, unused-ignore]


def domain_tool_schema(domain: str, name: str, schemas_path: str | None = None) -> dict[str, Any]:
    """The OpenAI schema of one tool: the toolkit's own, or the substitute file's."""
    specs = get_domain(domain).toolkit_cls.specs
    if name not in specs:
        raise DataError(f"tool config: field config.tool: unknown {domain} tool {name!r}")
    if not schemas_path:
        return specs[name].schema
    found = [
        s for s in load_schema_overrides(Path(schemas_path), specs) if s["function"]["name"] == name
    ]
    return found[0]


class EnvTool(BaseTool):
    """One tool of a taskforge domain (tool config: ``type``, ``domain``, ``tool``, optional
    ``schemas_path``), run on the calling episode's environment."""

    def __init__(self, config: dict[str, Any], tool_schema: OpenAIFunctionToolSchema | None):
        # BaseTool.__init__ would print the schema once per tool and worker; set what it sets.
        self.config = config
        schema = domain_tool_schema(
            str(config.get("domain") or "retail"), str(config["tool"]), config.get("schemas_path")
        )
        self.tool_schema = FullToolSchema.model_validate(schema)
        self.name = self.tool_schema.function.name

    async def execute(
        self, instance_id: str, parameters: dict[str, Any], **kwargs: Any
    ) -> tuple[ToolResponse, float, dict[str, Any]]:
        """Run the tool on the episode's DB; the environment's errors are answers, not raises."""
        episode = getattr(kwargs.get("agent_data"), EPISODE_ATTR, None)
        if episode is None:
            raise RuntimeError(
                f"tool {self.name}: no taskforge episode on the agent loop's state (these tools "
                "run only under the taskforge agent loop)"
            )
        text, error = episode.execute(self.name, parameters)
        return ToolResponse(text=text), 0.0, {RAN_KEY: True, ERROR_KEY: error}
