"""What the stages ask of a domain: one small protocol per optional part.

A domain's ``DOMAIN`` names a module for each part it provides (see
:class:`taskforge.domains.Domain`); the module implements the protocol with plain functions
and constants. The stages type against these protocols and never import a domain package.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

from taskforge.contracts import Task, ToolCall
from taskforge.env.db import Database, Record

if TYPE_CHECKING:
    from taskforge.synthesis.blueprints import Blueprint, Request
    from taskforge.synthesis.grounding import Call


class OfflinePolicy(Protocol):
    """A scripted agent: answers the agent-view messages; records the error modes it fired."""

    fired: list[str]

    def respond(
        self, messages: list[dict[str, Any]], tools: list[dict[str, Any]]
    ) -> dict[str, Any]: ...


class OfflineUser(Protocol):
    """A scripted user: the next user turn for the user-view dialogue."""

    def respond(self, messages: list[dict[str, Any]]) -> str: ...


class ScriptedAgents(Protocol):
    """The offline scripted agent and user (rollout, failure bench, demo)."""

    ERROR_MODES: tuple[str, ...]
    DEFAULT_ERROR_RATES: dict[str, float]

    def make_policy(self, error_rates: Mapping[str, float] | None, seed: int) -> OfflinePolicy: ...

    def make_user(self, task: Task, db: Database, seed: int) -> OfflineUser: ...


class SynthesisKit(Protocol):
    """Seed tasks, targeted blueprint samplers, explorer and template-writer knowledge.

    Optional members (looked up with ``getattr``; without them the stages use Retail's shape):
    ``RECORD_TABLE`` / ``RECORD_ARG`` (the table and argument of the record a write acts on;
    default ``orders`` / ``order_id``), ``identity_given(text, user) -> bool`` (the scenario
    proves who the user is), ``record_names(record) -> list[str]`` (words that single out a
    record), ``write_problems(text, action, record, user, db) -> list[str]`` (values of a gold
    write a templated scenario does not state), ``WRAPS`` / ``ENDINGS`` / ``PURPOSES`` (the
    template writer's wordings per family), ``failure_pattern(structured) -> str`` (a
    judgment's failure label for the targeting check) and ``PATTERN_MECHANISMS`` (pattern ->
    the judge mechanisms of mined patterns the loop answers with the family).
    """

    SAMPLERS: dict[str, Callable[[Database, random.Random], Blueprint | None]]
    """Blueprint sampler per failure family (one random attempt, None on a miss)."""
    FAMILY_PATTERNS: dict[str, str]
    """Family -> the failure pattern (scripted-policy error mode) it targets."""
    EXPLORER_GOALS: dict[str, str]
    """Family -> the LLM explorer's goal text."""

    def sample_seed_tasks(self, db: Database, n: int, seed: int, prefix: str = ...) -> list[Task]:
        """``n`` feasible, independent naive tasks."""
        ...

    def status_ok(self, tool: str, status: str) -> bool:
        """Whether a record in ``status`` is one ``tool`` can act on (verifier uniqueness)."""
        ...

    def ask(self, request: Request, ref: str, rng: random.Random) -> str:
        """One request as the template writer's verb phrase; ``ref`` names its record."""
        ...

    def blueprint_from_writes(
        self, db: Database, family: str, user: Record, writes: list[Call], rng: random.Random
    ) -> Blueprint | None:
        """The blueprint of an exploration's successful writes (None: it does not fit)."""
        ...

    def unguided_blueprint(self, db: Database, rng: random.Random) -> Blueprint | None:
        """One ungrounded candidate for the synthesis bench's baseline."""
        ...


class JudgeHints(Protocol):
    """What the diagnostic judge knows of a domain's arguments."""

    RECORD_ARGS: tuple[tuple[str, str], ...]
    """(argument naming a record, failure class when it differs), most specific first."""
    ITEM_ARGS: tuple[tuple[str, str], ...]
    """(argument listing sub-records, failure class when it differs)."""


class BenchFixtures(Protocol):
    """Synthetic worlds for the warehouse bench."""

    TOOL_KINDS: dict[str, str]
    """Tool name -> kind (read, write, generic, think)."""

    def bench_world(
        self, rng: random.Random, task_id: str
    ) -> tuple[Task, str, list[tuple[str, dict[str, Any], str]], tuple[str, dict[str, Any]] | None]:
        """One world: its task, the product it is about, the call plan and the write (or None)."""
        ...


class ProbeHints(Protocol):
    """What the reward-hacking probes need of a domain."""

    def extra_write_calls(self, db: Database, mentioned: set[str]) -> list[ToolCall]:
        """Candidate writes the gold does not make (the probe keeps the first that succeeds)."""
        ...
