"""The YAML files verl reads: the tool config and the agent-loop config (no verl import)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from taskforge.domains import get_domain
from trainer_adapters.verl.inputs import AGENT_NAME

TOOL_CLASS = "trainer_adapters.verl.tools.EnvTool"
LOOP_CLASS = "trainer_adapters.verl.agent_loop.TaskforgeAgentLoop"


def tool_config(domain: str, schemas_path: Path | None = None) -> dict[str, Any]:
    """verl's tool YAML for every tool of a domain.

    No ``tool_schema`` is given: verl would parse it with a schema class that drops ``items``;
    each tool builds its full schema from the toolkit (or from ``schemas_path``).
    """
    tools = []
    for name in sorted(get_domain(domain).toolkit_cls.specs):
        config: dict[str, Any] = {"type": "native", "domain": domain, "tool": name}
        if schemas_path is not None:
            config["schemas_path"] = str(schemas_path.resolve())
        tools.append({"class_name": TOOL_CLASS, "config": config, "tool_schema": None})
    return {"tools": tools}


def agent_loop_config(
    *,
    user_config: Path | None = None,
    user_concurrency: int = 64,
    episodes_dir: Path | None = None,
    reward_spec: Path | str | None = None,
    round: int | None = None,
    mode: str | None = None,
    max_steps: int = 200,
    max_errors: int = 10,
) -> list[dict[str, Any]]:
    """verl's agent-loop YAML registering the taskforge loop under :data:`AGENT_NAME`."""
    return [
        {
            "name": AGENT_NAME,
            "_target_": LOOP_CLASS,
            "user_config": str(user_config.resolve()) if user_config else None,
            "user_concurrency": user_concurrency,
            "episodes_dir": str(episodes_dir.resolve()) if episodes_dir else None,
            "reward_spec": str(reward_spec) if reward_spec is not None else None,
            "round": round,
            "mode": mode,
            "max_steps": max_steps,
            "max_errors": max_errors,
        }
    ]


def dump_yaml(data: Any) -> str:
    """YAML text in the files' key order."""
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
