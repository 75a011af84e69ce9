"""The user side of a verl episode, through taskforge's LLM layer.

The user simulator is the ``user`` role of a taskforge LLM config: an LLM endpoint (any LiteLLM
model string, a vLLM server by ``api_base``), or, with no config, the offline scripted user
(``taskforge/scripted-user``, an honest rule-based simulation that plays a task from its gold
actions). Both take the same path as in ``taskforge rollout``: the simulator reads the dialogue
in its own view (spoken messages only, roles swapped, the scenario as its system prompt).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from taskforge.contracts import Message, Task
from taskforge.env.db import Database

_lock = threading.Lock()
_clients: dict[tuple[str, int], Any] = {}


@dataclass
class UserTurn:
    """What the simulator said, with its cost and token usage when the provider reports them."""

    text: str
    cost: float | None = None
    usage: dict[str, Any] | None = None


class UserSimulator:
    """Answers the agent as the task's user.

    Args:
        config_path: A taskforge LLM config (its ``user`` role is used); None for the offline
            scripted user.
        concurrency: Most user completions in flight in this process.
    """

    def __init__(self, config_path: str | Path | None = None, concurrency: int = 64) -> None:
        from taskforge.llm import LLMClient, load_llm_config
        from taskforge.rollout.offline_agents import register_scripted_agents

        config = load_llm_config(config_path)
        register_scripted_agents()
        self.model = config.user.model
        self.client = LLMClient(config.user, config.cache_dir, concurrency, name="user")

    @classmethod
    def shared(cls, config_path: str | Path | None = None, concurrency: int = 64) -> UserSimulator:
        """One simulator per (config, concurrency) in this process, so the limit is shared."""
        key = (str(config_path or ""), concurrency)
        with _lock:
            if key not in _clients:
                _clients[key] = cls(config_path, concurrency)
            simulator: UserSimulator = _clients[key]
            return simulator

    @staticmethod
    def begin(episode_id: str, task: Task, db: Database, seed: int) -> None:
        """Register the episode's context (read by the offline scripted user)."""
        from taskforge.llm.offline import register_episode

        register_episode(episode_id, {"task": task, "db": db, "seed": seed})

    @staticmethod
    def end(episode_id: str) -> None:
        """Forget the episode's context."""
        from taskforge.llm.offline import end_episode

        end_episode(episode_id)

    async def reply(
        self, episode_id: str, task: Task, messages: list[Message], seed: int
    ) -> UserTurn:
        """The user's next message given the dialogue so far (tau2 roles)."""
        from taskforge.llm import episode_metadata
        from taskforge.rollout.prompts import user_system_prompt
        from taskforge.rollout.views import user_view

        done = await self.client.complete(
            user_view(user_system_prompt(task), messages),
            seed=seed,
            metadata=episode_metadata(episode_id),
        )
        return UserTurn(done.message.content or "", done.cost, done.message.usage)
