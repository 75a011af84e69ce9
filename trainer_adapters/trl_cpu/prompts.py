"""The single-turn prompt of a task: what the policy sees before its one JSON tool call.

A prompt is a chat: a short system text (what the assistant is), a few example exchanges, and
the task's opening user message, with the offered tools. It is rendered by the local model
server's own renderer (:func:`taskforge.llm.local_chat.render_prompt`): the same tool lines,
the same call format ``{"name": ..., "arguments": {...}}`` and the same ChatML turns as the
rollouts that serve the trained policy, so GRPO reinforces what the policy sees there.

Each example is another task's opening user message answered with that task's gold write as
a call, so the examples are grounded in the same DB and show the format with real ids. The
opening message is what taskforge's scripted user says first (the domain's scripted user,
``Domain.scripted_agents().make_user``), never the task's instruction text.

Nothing here names a tool: the tools and their parameters come from the domain's toolkit
specs. A small model pays for every prompt token (twice: generation and the policy-gradient
pass), so only the tools that the examples and the task's gold write use are offered, plus a
few others drawn by seed.
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from taskforge.contracts import Action, Task
from taskforge.domains import domain_of, get_domain
from taskforge.env.db import Database
from taskforge.env.toolkit import ToolSpec
from taskforge.llm.local_chat import render_prompt
from taskforge.rollout.prompts import GREETING
from taskforge.rollout.runner import episode_seed

SYSTEM_TEMPLATE = (
    "You are a customer service agent for a {domain} store. You act by calling one tool. "
    "Take every argument value from the customer's message."
)
"""The system text (``{domain}`` filled in); the renderer appends the tools and call format."""


@dataclass(frozen=True)
class Prompt:
    """One task's prompt.

    Attributes:
        task_id: The task.
        messages: The chat, OpenAI shape (system, example user messages answered by the
            example's gold call, the opening user message).
        opening: The user's opening message (the last message).
        tools: The offered tool names, in the order shown.
        tool_schemas: The offered tools' OpenAI function schemas.
        example_ids: The tasks the examples come from.
    """

    task_id: str
    messages: list[dict[str, Any]]
    opening: str
    tools: list[str]
    tool_schemas: list[dict[str, Any]]
    example_ids: list[str] = field(default_factory=list)


def write_actions(task: Task, specs: dict[str, ToolSpec]) -> list[Action]:
    """The task's gold actions that can change the DB (by the toolkit's tool kinds)."""
    return [a for a in task.gold_actions() if a.name in specs and specs[a.name].mutates]


def call_json(action: Action) -> str:
    """A gold action as the reply the policy should give: ``{"name": ..., "arguments": ...}``."""
    return json.dumps({"name": action.name, "arguments": action.arguments}, ensure_ascii=False)


def call_message(action: Action, call_id: str) -> dict[str, Any]:
    """A gold action as the assistant's OpenAI tool-call message."""
    function = {"name": action.name, "arguments": json.dumps(action.arguments)}
    return {"role": "assistant", "tool_calls": [{"id": call_id, "type": "function",
                                                 "function": function}]}  # fmt: skip


def opening_message(task: Task, db: Database, seed: int = 0) -> str:
    """What the scripted user says first in reply to the agent's greeting."""
    user = domain_of(db).scripted_agents().make_user(task, db, episode_seed(seed, task.id, 0))
    return user.respond([{"role": "assistant", "content": GREETING}])


class PromptBuilder:
    """Builds prompts for tasks of one domain, with examples drawn from a pool of tasks.

    Args:
        db: The tasks' initial DB.
        domain: Domain name (its toolkit gives the tools).
        examples: Tasks the example exchanges may come from (each needs one gold write).
        n_examples: Example exchanges per prompt (distinct tools first).
        n_extra_tools: Tools offered beyond those the examples and the gold write use.
        seed: Seed of the openings and of the drawn extra tools and examples.
    """

    def __init__(
        self,
        db: Database,
        domain: str,
        examples: Sequence[Task],
        n_examples: int = 2,
        n_extra_tools: int = 2,
        seed: int = 0,
    ) -> None:
        self.db = db
        self.domain = domain
        self.specs = get_domain(domain).toolkit_cls.specs
        self.pool = [t for t in examples if len(write_actions(t, self.specs)) == 1]
        self.n_examples = n_examples
        self.n_extra_tools = n_extra_tools
        self.seed = seed
        self._openings: dict[str, str] = {}

    def opening(self, task: Task) -> str:
        """The task's opening user message (cached per task id)."""
        if task.id not in self._openings:
            self._openings[task.id] = opening_message(task, self.db, self.seed)
        return self._openings[task.id]

    def pick_examples(self, task: Task) -> list[Task]:
        """Up to ``n_examples`` other tasks: one per distinct write tool first, then others."""
        rng = random.Random(f"{self.seed}:examples:{task.id}")
        others = [t for t in self.pool if t.id != task.id]
        rng.shuffle(others)
        chosen: list[Task] = []
        seen: set[str] = set()
        for candidate in others:
            name = write_actions(candidate, self.specs)[0].name
            if name not in seen and len(chosen) < self.n_examples:
                chosen.append(candidate)
                seen.add(name)
        rest = [t for t in others if t not in chosen]
        chosen += rest[: self.n_examples - len(chosen)]
        return chosen

    def offered_tools(self, task: Task, examples: Sequence[Task]) -> list[str]:
        """Tools of the examples and of the task's writes, plus extras drawn by seed, sorted."""
        used = {a.name for t in [*examples, task] for a in write_actions(t, self.specs)}
        rest = sorted(set(self.specs) - used)
        rng = random.Random(f"{self.seed}:tools:{task.id}")
        extra = rng.sample(rest, min(self.n_extra_tools, len(rest)))
        return sorted(used | set(extra))

    def build(self, task: Task) -> Prompt:
        """The task's prompt."""
        examples = self.pick_examples(task)
        tools = self.offered_tools(task, examples)
        messages: list[dict[str, Any]] = [
            {"role": "system", "content": SYSTEM_TEMPLATE.format(domain=self.domain)}
        ]
        for i, example in enumerate(examples):
            messages.append({"role": "user", "content": self.opening(example)})
            messages.append(call_message(write_actions(example, self.specs)[0], f"example-{i}"))
        opening = self.opening(task)
        messages.append({"role": "user", "content": opening})
        schemas = [self.specs[n].schema for n in tools]
        return Prompt(task.id, messages, opening, tools, schemas, [t.id for t in examples])


def render(prompt: Prompt) -> str:
    """The prompt as the served model sees it (ChatML, the assistant turn opened)."""
    return render_prompt(prompt.messages, prompt.tool_schemas)
