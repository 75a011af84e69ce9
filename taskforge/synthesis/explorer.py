"""The LLM explorer: an agent explores the environment and its successful writes become a blueprint.

RAFT's strong agent and SENTINEL's proposer work trajectory first: from a sampled starting
point (a user of the DB) the ``explorer`` role runs as an agent with the environment's tools
(``prompts/explorer.md``: the family's goal, no customer in the loop) on a fresh copy of the
DB. The writes that succeeded, in order, are the gold actions; each becomes a
:class:`~taskforge.synthesis.blueprints.Request` described from the records as they were just
before it, and the family's difficulty is then fitted to the situation found (the product
that singles out one of several candidate orders, the options that change for a variant close
to another, the gift card that pays a difference). An exploration that made no write, a write
the writers cannot word, or a situation that does not fit the family is a miss.

How the writes become a request and how the difficulty is fitted is the domain's knowledge
(``SynthesisKit.blueprint_from_writes``, with its ``EXPLORER_GOALS``).

Offline (no ``explorer`` model configured) the blueprint samplers do this job alone.
"""

from __future__ import annotations

import asyncio
import json
import random
from pathlib import Path
from string import Template
from typing import Any

from taskforge.domains import domain_of
from taskforge.env.db import Database, Record
from taskforge.env.environment import Environment
from taskforge.env.toolkit import Toolkit
from taskforge.llm.client import LLMClient, LLMError
from taskforge.synthesis.blueprints import Blueprint, gold_feasible
from taskforge.synthesis.grounding import Call

LLM_EXPLORER = "llm-explorer-v1"
"""Name of this explorer in the tasks' lineage."""
PROMPT_PATH = Path(__file__).resolve().parent / "prompts" / "explorer.md"


class LLMExplorer:
    """Blueprints from explorations by the ``explorer`` LLM role.

    Args:
        client: The explorer role's client (a model that calls tools).
        toolkit_cls: The domain's toolkit (default: that of the DB's domain).
        max_steps: Most model turns per exploration.
        seed: Sampling seed of the calls.
        tries: Explorations per wanted blueprint before giving up.
    """

    name = LLM_EXPLORER

    def __init__(
        self,
        client: LLMClient,
        toolkit_cls: type[Toolkit] | None = None,
        max_steps: int = 30,
        seed: int = 0,
        tries: int = 4,
    ) -> None:
        self.client = client
        self.toolkit_cls = toolkit_cls
        self.max_steps = max_steps
        self.seed = seed
        self.tries = tries
        self.template = PROMPT_PATH.read_text(encoding="utf-8")
        self.explorations = 0
        self.misses: list[str] = []

    def blueprints(self, db: Database, family: str, n: int, seed: int) -> list[Blueprint]:
        """Up to ``n`` blueprints of ``family`` from explorations of random users.

        Args:
            db: The task DB (never modified: explorations run on fresh copies).
            family: A family with a goal in the domain's ``EXPLORER_GOALS``.
            n: Blueprints wanted.
            seed: Seed of the choice of starting users.
        """
        rng = random.Random(f"{LLM_EXPLORER}:{family}:{seed}")
        users = sorted(db.tables["users"])
        found: list[Blueprint] = []
        used: set[str] = set()
        for _ in range(max(n, 0) * self.tries):
            if len(found) >= n:
                break
            bp = self.explore(db, family, db.tables["users"][rng.choice(users)], rng)
            if bp is not None and not used.intersection(bp.targets):
                used.update(bp.targets)
                found.append(bp)
        return found

    def explore(
        self, db: Database, family: str, user: Record, rng: random.Random
    ) -> Blueprint | None:
        """One exploration from ``user``; the blueprint of its writes, or None (a miss)."""
        self.explorations += 1
        try:
            writes = asyncio.run(self._run(db, family, user))
        except LLMError as exc:
            self.misses.append(f"{user['user_id']}: {exc}")
            return None
        bp = domain_of(db).synthesis_kit().blueprint_from_writes(db, family, user, writes, rng)
        if bp is None or not gold_feasible(db, bp):
            self.misses.append(f"{user['user_id']}: {len(writes)} writes, no {family} blueprint")
            return None
        return bp

    async def _run(self, db: Database, family: str, user: Record) -> list[Call]:
        """The agent loop; returns the successful writes in order."""
        domain = domain_of(db)
        env = Environment(self.toolkit_cls or domain.toolkit_cls, db)
        name = f"{user['name']['first_name']} {user['name']['last_name']}"
        goal = domain.synthesis_kit().EXPLORER_GOALS.get(family, family)
        prompt = Template(self.template).substitute(name=name, user_id=user["user_id"], goal=goal)
        messages: list[dict[str, Any]] = [
            {"role": "system", "content": prompt},
            {"role": "user", "content": "Begin."},
        ]
        writes: list[Call] = []
        for _ in range(self.max_steps):
            completion = await self.client.complete(messages, env.tool_schemas(), seed=self.seed)
            raw = completion.message
            if not raw.tool_calls:
                break
            messages.append(_assistant(raw))
            for call in raw.tool_calls:
                result = env.step(call)
                messages.append(
                    {"role": "tool", "tool_call_id": call.id, "content": result.content or ""}
                )
                if env.is_write(call.name) and not result.error:
                    writes.append((call.name, dict(call.arguments)))
        return writes


def _assistant(message: Any) -> dict[str, Any]:
    """An assistant message with tool calls back in OpenAI's format."""
    calls = [
        {
            "id": c.id,
            "type": "function",
            "function": {"name": c.name, "arguments": json.dumps(c.arguments)},
        }
        for c in message.tool_calls or []
    ]
    return {"role": "assistant", "content": message.content, "tool_calls": calls}


__all__ = ["LLM_EXPLORER", "LLMExplorer"]
