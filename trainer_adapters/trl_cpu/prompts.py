"""The single-turn prompt of a task: what the policy sees before its one JSON tool call.

A prompt is a chat: a short system text (what the assistant is, the offered tools as one-line
signatures, the exact reply format ``{"name": ..., "arguments": {...}}``), a few example
exchanges, and the task's opening user message. Each example is another task's opening user
message answered with that task's gold write as JSON, so the examples are grounded in the
same DB and show the format with real ids. The opening message is what taskforge's scripted
user says first (the domain's scripted user,
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
from taskforge.rollout.prompts import GREETING
from taskforge.rollout.runner import episode_seed

SYSTEM_TEMPLATE = (
    "You are a customer service agent for a {domain} store. You act by calling one tool. "
    "Tools:\n{tools}\n"
    'Reply with exactly one tool call as JSON: {{"name": "<tool>", "arguments": {{...}}}} '
    "and nothing else. Take every argument value from the customer's message."
)
"""The system text; ``{domain}`` and ``{tools}`` (one signature per line) are filled in."""

_JSON_TYPES = {"string": "str", "integer": "int", "number": "float", "boolean": "bool"}


@dataclass(frozen=True)
class Prompt:
    """One task's prompt.

    Attributes:
        task_id: The task.
        messages: The chat (system, example user/assistant pairs, the opening user message).
        opening: The user's opening message (the last message).
        tools: The offered tool names, in the order shown.
        example_ids: The tasks the examples come from.
    """

    task_id: str
    messages: list[dict[str, str]]
    opening: str
    tools: list[str]
    example_ids: list[str] = field(default_factory=list)


def write_actions(task: Task, specs: dict[str, ToolSpec]) -> list[Action]:
    """The task's gold actions that can change the DB (by the toolkit's tool kinds)."""
    return [a for a in task.gold_actions() if a.name in specs and specs[a.name].mutates]


def call_json(action: Action) -> str:
    """A gold action as the reply the policy should give: ``{"name": ..., "arguments": ...}``."""
    return json.dumps({"name": action.name, "arguments": action.arguments}, ensure_ascii=False)


def signature(spec: ToolSpec) -> str:
    """A tool as one line, e.g. ``name(order_id: str, item_ids: list[str])``."""
    params = spec.schema.get("function", {}).get("parameters", {})
    parts = [f"{name}: {_type_name(prop)}" for name, prop in params.get("properties", {}).items()]
    return f"{spec.name}({', '.join(parts)})"


def _type_name(prop: dict[str, Any]) -> str:
    kind = prop.get("type")
    if kind == "array":
        return f"list[{_type_name(prop.get('items') or {})}]"
    if isinstance(kind, str):
        return _JSON_TYPES.get(kind, kind)
    options = prop.get("anyOf") or []
    names = [_type_name(o) for o in options if isinstance(o, dict)]
    return " | ".join(names) if names else "any"


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
        system = SYSTEM_TEMPLATE.format(
            domain=self.domain, tools="\n".join(signature(self.specs[n]) for n in tools)
        )
        messages = [{"role": "system", "content": system}]
        for example in examples:
            messages.append({"role": "user", "content": self.opening(example)})
            reply = call_json(write_actions(example, self.specs)[0])
            messages.append({"role": "assistant", "content": reply})
        opening = self.opening(task)
        messages.append({"role": "user", "content": opening})
        return Prompt(task.id, messages, opening, tools, [t.id for t in examples])


def render(prompt: Prompt, tokenizer: Any) -> str:
    """The prompt as the model's text (its chat template, with the assistant turn opened)."""
    text: str = tokenizer.apply_chat_template(
        prompt.messages, tokenize=False, add_generation_prompt=True
    )
    return text
