"""One config file naming the LiteLLM model of every LLM role, with its parameters.

The roles are ``policy`` (the agent being evaluated or trained), ``user`` (the user
simulator), ``judge`` (failure diagnosis), ``labeler`` (cluster labels), ``explorer`` (grounded
exploration for synthesis) and ``writer`` (task instructions). Each is a :class:`RoleConfig`
holding a LiteLLM model string (``openai/gpt-4o-mini``, ``hosted_vllm/Qwen/Qwen3-4B`` with an
``api_base``, or an offline provider such as ``taskforge/scripted-policy``) and its call
parameters.

A key is never written in the file: ``api_key_env`` names the environment variable that holds
it, and the client reads that variable at call time. A field such as ``api_key`` is refused
with a message saying so, and so is a value that looks like a key.

The file is YAML; every key is optional and a role left out keeps its offline default::

    concurrency: 16
    cache_dir: .taskforge/llm-cache
    policy:
      model: openai/gpt-4o-mini
      temperature: 0.0
      api_key_env: OPENAI_API_KEY

Relative ``cache_dir`` paths are taken relative to the current directory.
"""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from taskforge.errors import DataError, describe_validation_error

ROLES: tuple[str, ...] = ("policy", "user", "judge", "labeler", "explorer", "writer")
"""The LLM roles, in the order they appear in a config file."""

OFFLINE_PROVIDER = "taskforge"
"""LiteLLM provider name of taskforge's offline models (``taskforge/<agent>``)."""

_SECRET_FIELDS = frozenset(
    {"api_key", "apikey", "key", "token", "access_token", "secret", "password", "bearer"}
)
_KEY_PATTERN = re.compile(
    r"^(sk-|sk_|hf_|gsk_|xai-|AIza|ghp_|github_pat_|nvapi-)[A-Za-z0-9_\-]{8,}"
)
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_KEY_HINT = (
    "a literal API key is never written in the config; put the key in an environment variable "
    "and name that variable with api_key_env (e.g. api_key_env: OPENAI_API_KEY)"
)


def _looks_like_key(value: Any) -> bool:
    return isinstance(value, str) and bool(_KEY_PATTERN.match(value.strip()))


def find_secret(data: Any, where: str = "") -> tuple[str, str] | None:
    """The dotted field and the problem of the first literal key in ``data``, if any."""
    if not isinstance(data, dict):
        return None
    for name, value in data.items():
        label = f"{where}{name}"
        if str(name).lower() in _SECRET_FIELDS and value not in (None, ""):
            return label, _KEY_HINT
        if _looks_like_key(value):
            return label, f"value looks like an API key; {_KEY_HINT}"
        found = find_secret(value, f"{label}.")
        if found is not None:
            return found
    return None


class RoleConfig(BaseModel):
    """The model of one LLM role and the parameters of its calls."""

    model_config = ConfigDict(extra="forbid")

    model: str = Field(
        description="LiteLLM model string, e.g. 'openai/gpt-4o-mini', "
        "'hosted_vllm/Qwen/Qwen3-4B' or an offline one such as 'taskforge/scripted-policy'."
    )
    temperature: float | None = Field(
        default=None, ge=0.0, description="Sampling temperature; None keeps the provider default."
    )
    max_tokens: int | None = Field(
        default=None, gt=0, description="Most tokens per completion; None: provider default."
    )
    api_base: str | None = Field(
        default=None,
        description="Base URL of an OpenAI-compatible server (vLLM, SGLang, a proxy...).",
    )
    api_key_env: str | None = Field(
        default=None,
        description="NAME of the environment variable holding the API key, read at call time "
        "(the key itself is never stored). None: LiteLLM's own provider default "
        "(e.g. OPENAI_API_KEY for openai/ models).",
    )
    timeout_s: float = Field(default=120.0, gt=0, description="Per-call timeout in seconds.")
    max_retries: int = Field(
        default=4,
        ge=0,
        description="Retries after a rate limit, timeout, connection or server error.",
    )
    backoff_base_s: float = Field(
        default=1.0, ge=0, description="First retry waits up to this long; doubles each retry."
    )
    backoff_max_s: float = Field(default=30.0, ge=0, description="Longest wait between retries.")
    tool_choice: str | None = Field(
        default=None,
        description="tool_choice sent with calls that offer tools ('auto', 'required'); None "
        "leaves it out. llama.cpp's function-calling chat format ignores tools without it.",
    )
    json_schema: bool = Field(
        default=False,
        description="The server follows OpenAI's json_schema response format (vLLM, taskforge's "
        "local server): a role that answers in JSON then sends the schema of its answer, which "
        "the server enforces; else it asks for any JSON object.",
    )
    cache: bool = Field(
        default=True, description="Use the on-disk completion cache for this role (if any)."
    )
    extra: dict[str, Any] = Field(
        default_factory=dict,
        description="Further provider parameters passed to litellm.acompletion as they are "
        "(e.g. top_p, or error_rates for the scripted policy).",
    )

    @model_validator(mode="before")
    @classmethod
    def _no_literal_keys(cls, data: Any) -> Any:
        found = find_secret(data)
        if found is not None:
            raise ValueError(f"field {found[0]}: {found[1]}")
        return data

    @field_validator("api_key_env")
    @classmethod
    def _env_name(cls, value: str | None) -> str | None:
        if value is not None and not _ENV_NAME.match(value):
            raise ValueError(f"{value[:4]}...: not an environment variable name; {_KEY_HINT}")
        return value

    @property
    def is_offline(self) -> bool:
        """True for taskforge's offline providers (``taskforge/...``)."""
        return self.model.startswith(f"{OFFLINE_PROVIDER}/")


def _offline(agent: str, **kwargs: Any) -> RoleConfig:
    return RoleConfig(model=f"{OFFLINE_PROVIDER}/{agent}", **kwargs)


class LLMConfig(BaseModel):
    """The LiteLLM model of every role, the completion cache and the concurrency limit."""

    model_config = ConfigDict(extra="forbid")

    policy: RoleConfig = Field(
        default_factory=lambda: _offline("scripted-policy"),
        description="The agent under evaluation or training.",
    )
    user: RoleConfig = Field(
        default_factory=lambda: _offline("scripted-user"), description="The user simulator."
    )
    judge: RoleConfig = Field(
        default_factory=lambda: _offline("diagnostic-judge"),
        description="Explains failed trajectories (mining).",
    )
    labeler: RoleConfig = Field(
        default_factory=lambda: _offline("keyword-labeler"),
        description="Names failure clusters (mining).",
    )
    explorer: RoleConfig = Field(
        default_factory=lambda: _offline("scripted-explorer"),
        description="Explores the environment for grounded trajectories (synthesis).",
    )
    writer: RoleConfig = Field(
        default_factory=lambda: _offline("template-writer"),
        description="Writes user instructions for synthesized tasks (synthesis).",
    )
    cache_dir: Path | None = Field(
        default=None,
        description="Directory of the on-disk completion cache; None disables the cache.",
    )
    concurrency: int = Field(default=8, ge=1, description="Most LLM calls in flight at once.")

    def role(self, name: str) -> RoleConfig:
        """The config of one role by name."""
        if name not in ROLES:
            raise DataError(f"unknown LLM role {name!r} (roles: {', '.join(ROLES)})")
        config: RoleConfig = getattr(self, name)
        return config


DEFAULT_CONFIG = LLMConfig()
"""The offline config: every role is a taskforge offline provider, no cache."""


def packaged_config(name: str) -> Path:
    """Path of a config shipped with taskforge: ``offline``, ``local`` or ``example``."""
    path = Path(str(resources.files("taskforge.llm") / "configs" / f"llm.{name}.yaml"))
    if not path.exists():
        raise DataError(f"{path}: no packaged LLM config named {name!r}")
    return path


def load_llm_config(path: Path | str | None) -> LLMConfig:
    """Read an LLM config from YAML; None gives the offline :data:`DEFAULT_CONFIG`.

    Raises:
        DataError: one line naming the file and the field, when the file is missing, is not
            YAML, or does not match :class:`LLMConfig` (a literal API key included).
    """
    if path is None:
        return DEFAULT_CONFIG.model_copy(deep=True)
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise DataError(f"{path}: no such file") from exc
    except IsADirectoryError as exc:
        raise DataError(f"{path}: is a directory, expected a YAML file") from exc
    except yaml.YAMLError as exc:
        raise DataError(f"{path}: not valid YAML ({' '.join(str(exc).split())})") from exc
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise DataError(f"{path}: expected a mapping of roles to models, got {type(data).__name__}")
    found = find_secret(data)
    if found is not None:
        raise DataError(f"{path}: field {found[0]}: {found[1]}")
    try:
        return LLMConfig.model_validate(data)
    except ValidationError as exc:
        raise DataError(describe_validation_error(str(path), exc)) from exc
