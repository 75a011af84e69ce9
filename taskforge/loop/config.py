"""Loading a loop config (YAML or JSON) with errors naming the file and the field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from taskforge.contracts.loop import LoopConfig
from taskforge.errors import DataError, describe_validation_error


def load_loop_config(path: Path | None, **overrides: Any) -> LoopConfig:
    """The config in ``path`` (defaults when None), with non-None overrides applied.

    Relative paths in the file are taken relative to the file's folder.
    """
    data: dict[str, Any] = {}
    if path is not None:
        data = _read(path)
        for key in ("db", "seed_tasks", "llm_config"):
            if isinstance(data.get(key), str) and not Path(data[key]).is_absolute():
                data[key] = str(path.parent / data[key])
    data.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return LoopConfig.model_validate(data)
    except ValidationError as exc:
        raise DataError(describe_validation_error(str(path or "loop config"), exc)) from exc


def _read(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise DataError(f"{path}: no such file") from exc
    except yaml.YAMLError as exc:
        raise DataError(f"{path}: not valid YAML ({exc})") from exc
    if not isinstance(data, dict):
        raise DataError(f"{path}: expected a mapping of settings, got {type(data).__name__}")
    return data
