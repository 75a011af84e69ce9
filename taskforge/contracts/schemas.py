"""JSON Schemas of the contracts: ``schemas/*.json`` is generated from here, never by hand."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel

from taskforge.contracts.export import ExportManifest
from taskforge.contracts.judgment import Judgment
from taskforge.contracts.loop import LoopConfig
from taskforge.contracts.message import Message
from taskforge.contracts.pool import TaskPool
from taskforge.contracts.reward import RewardInfo
from taskforge.contracts.rewardspec import RewardBreakdown, RewardSpec
from taskforge.contracts.run import Run
from taskforge.contracts.task import Task
from taskforge.contracts.trajectory import Tau2Results, Trajectory
from taskforge.contracts.verl import VerlEpisode

SCHEMA_MODELS: dict[str, type[BaseModel]] = {
    "task": Task,
    "message": Message,
    "trajectory": Trajectory,
    "reward_info": RewardInfo,
    "tau2_results": Tau2Results,
    "run": Run,
    "judgment": Judgment,
    "loop_config": LoopConfig,
    "verl_episode": VerlEpisode,
    "reward_spec": RewardSpec,
    "reward_breakdown": RewardBreakdown,
    "task_pool": TaskPool,
    "export_manifest": ExportManifest,
}


def render_schemas() -> dict[str, str]:
    """File name -> JSON Schema text, for every top-level contract."""
    return {
        f"{name}.schema.json": json.dumps(model.model_json_schema(), indent=2, sort_keys=True)
        + "\n"
        for name, model in SCHEMA_MODELS.items()
    }


def write_schemas(out_dir: Path) -> list[Path]:
    """Write every schema into ``out_dir``; returns the paths written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in render_schemas().items():
        path = out_dir / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def drifted_schemas(out_dir: Path) -> list[str]:
    """Names of schema files that are missing, stale or unexpected in ``out_dir``."""
    expected = render_schemas()
    drift = [n for n, t in expected.items() if _read(out_dir / n) != t]
    extra = [p.name for p in out_dir.glob("*.schema.json") if p.name not in expected]
    return sorted(drift + extra)


def _read(path: Path) -> str | None:
    return path.read_text(encoding="utf-8") if path.exists() else None
