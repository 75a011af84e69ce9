"""Reward specs: the presets, loading from a name or a YAML/JSON file, dumping, building.

A spec is resolved when loaded: every component's ``params`` are validated by its kind and
completed with the defaults, so a file that spells out a default and one that leaves it out
are the same spec with the same :meth:`~taskforge.contracts.RewardSpec.spec_hash`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ValidationError

from taskforge.contracts.rewardspec import RewardSpec
from taskforge.errors import DataError, describe_validation_error
from taskforge.rewards.components import COMPONENTS, RewardComponent, component_kinds

_RAFT_COMPONENTS: list[dict[str, Any]] = [
    {"kind": "task_success", "weight": 1.0},
    {"kind": "gold_writes", "weight": 0.15},
    {"kind": "extra_writes", "weight": 0.15},
    {"kind": "invalid_calls", "weight": 0.1},
    {"kind": "repeated_calls", "weight": 0.2},
    {"kind": "token_length", "weight": 0.2},
    {"kind": "format", "weight": 0.1},
]

_PRESET_DATA: dict[str, dict[str, Any]] = {
    "raft": {
        "name": "raft",
        "description": "RAFT's anti-hacking reward: task success, action-level checks (gold "
        "writes, extra writes, invalid calls), repeated-call, token-length and format "
        "penalties. Penalty weights sum to 0.9 < 1, so any success outranks any failure.",
        "components": _RAFT_COMPONENTS,
    },
    "success-only": {
        "name": "success-only",
        "description": "Sparse tau2 task success only: the ablation RAFT reports collapsing.",
        "components": [{"kind": "task_success", "weight": 1.0}],
    },
    "no-repeat-penalty": {
        "name": "no-repeat-penalty",
        "description": "raft without the repeated-call penalty (RAFT's ablation).",
        "components": [c for c in _RAFT_COMPONENTS if c["kind"] != "repeated_calls"],
    },
}


def resolve_spec(data: Any, source: str) -> RewardSpec:
    """Validate spec data and complete every component's params; DataError naming the field."""
    try:
        spec = RewardSpec.model_validate(data)
    except ValidationError as exc:
        raise DataError(describe_validation_error(source, exc)) from exc
    components = []
    for index, component in enumerate(spec.components):
        where = f"{source}: field components.{index}"
        cls = COMPONENTS.get(component.kind)
        if cls is None:
            known = ", ".join(component_kinds())
            raise DataError(f"{where}.kind: unknown reward component {component.kind!r}; {known}")
        params = _validate_params(cls.Params, component.params, f"{where}.params")
        components.append(component.model_copy(update={"params": params}))
    return spec.model_copy(update={"components": components})


def _validate_params(model: type[BaseModel], params: dict[str, Any], where: str) -> Any:
    try:
        return model.model_validate(params).model_dump(mode="json")
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first["loc"])
        raise DataError(f"{where}{'.' + loc if loc else ''}: {first['msg']}") from exc


PRESETS: dict[str, RewardSpec] = {
    name: resolve_spec(data, f"preset {name}") for name, data in _PRESET_DATA.items()
}
"""The bundled specs: ``raft``, ``success-only``, ``no-repeat-penalty``."""


def load_spec(spec: RewardSpec | str | Path) -> RewardSpec:
    """A spec from a preset name, a YAML/JSON file, or a spec (resolved and returned).

    Raises:
        DataError: an unknown name, a missing or malformed file, or a bad field (one line
            naming the file and the field).
    """
    if isinstance(spec, RewardSpec):
        return resolve_spec(spec.to_json_dict(exclude_unset=False), f"spec {spec.name}")
    if isinstance(spec, str) and spec in PRESETS:
        return PRESETS[spec]
    path = Path(spec)
    if not path.is_file():
        known = ", ".join(sorted(PRESETS))
        raise DataError(f"{spec}: not a reward spec preset ({known}) nor a spec file")
    return resolve_spec(_read_spec_file(path), str(path))


def _read_spec_file(path: Path) -> Any:
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() == ".json":
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise DataError(f"{path}: not valid JSON ({exc})") from exc
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or type(exc).__name__
        raise DataError(f"{path}: not valid YAML{where} ({problem})") from exc


def dump_spec(spec: RewardSpec, fmt: Literal["yaml", "json"] = "yaml") -> str:
    """The spec as YAML or JSON text; :func:`load_spec` reads it back to an equal spec."""
    data = spec.model_dump(mode="json", exclude_none=True)
    if fmt == "json":
        return json.dumps(data, indent=2) + "\n"
    text: str = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    return text


BuiltComponent = tuple[str, str, float, RewardComponent]
"""(name, kind, weight, component instance)."""

_CACHE_SIZE = 64
_RESOLVED: dict[str, RewardSpec] = {}
_BUILT: dict[tuple[str, tuple[type, ...]], tuple[BuiltComponent, ...]] = {}


def _remember(cache: dict[Any, Any], key: Any, value: Any) -> Any:
    if len(cache) >= _CACHE_SIZE:
        cache.clear()
    cache[key] = value
    return value


def resolved(spec: RewardSpec | str | Path) -> RewardSpec:
    """:func:`load_spec`, remembering specs already resolved (scoring calls it per episode)."""
    if not isinstance(spec, RewardSpec):
        return load_spec(spec)
    key = spec.model_dump_json()
    hit = _RESOLVED.get(key)
    return hit if hit is not None else _remember(_RESOLVED, key, load_spec(spec))


def build_components(spec: RewardSpec) -> tuple[BuiltComponent, ...]:
    """The components of a resolved spec, built once per spec and registered classes."""
    classes = tuple(COMPONENTS[c.kind] for c in spec.components)
    key = (spec.model_dump_json(), classes)
    hit = _BUILT.get(key)
    if hit is not None:
        return hit
    built = tuple(
        (c.key, c.kind, c.weight, cls(cls.Params.model_validate(c.params)))
        for c, cls in zip(spec.components, classes, strict=True)
    )
    return _remember(_BUILT, key, built)
