"""taskforge's LLM layer: one config of LiteLLM models per role, an async client, offline models.

* :mod:`taskforge.llm.config`: :class:`LLMConfig` / :class:`RoleConfig` and
  :func:`load_llm_config` (YAML; keys only by the name of their environment variable).
* :mod:`taskforge.llm.client`: :class:`LLMClient` (bounded concurrency, retries with backoff,
  per-call timeout, disk cache, tool-call normalisation, token and cost accounting).
* :mod:`taskforge.llm.offline`: offline models registered with LiteLLM as the custom provider
  ``taskforge`` (``taskforge/scripted-policy``...), plus the per-episode context registry.

Importing this package does not import LiteLLM (which takes seconds); the first call does.
"""

from taskforge.llm.client import (
    Completion,
    CompletionCache,
    ConcurrencyLimit,
    LLMClient,
    LLMError,
    LLMTimeoutError,
    TokenUsage,
    UsageMeter,
    episode_metadata,
    make_clients,
    normalise_message,
    parse_tool_call,
    to_openai_messages,
)
from taskforge.llm.config import (
    DEFAULT_CONFIG,
    ROLES,
    LLMConfig,
    RoleConfig,
    load_llm_config,
    packaged_config,
)
from taskforge.llm.offline import (
    Responder,
    ResponderFactory,
    end_episode,
    episode_context,
    load_litellm,
    register_episode,
    register_offline_agent,
)

__all__ = [
    "DEFAULT_CONFIG",
    "ROLES",
    "Completion",
    "CompletionCache",
    "ConcurrencyLimit",
    "LLMClient",
    "LLMConfig",
    "LLMError",
    "LLMTimeoutError",
    "Responder",
    "ResponderFactory",
    "RoleConfig",
    "TokenUsage",
    "UsageMeter",
    "end_episode",
    "episode_context",
    "episode_metadata",
    "load_litellm",
    "load_llm_config",
    "make_clients",
    "normalise_message",
    "packaged_config",
    "parse_tool_call",
    "register_episode",
    "register_offline_agent",
    "to_openai_messages",
]
