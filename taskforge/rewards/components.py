"""Reward components: small objects behind one protocol, registered by ``kind``.

A component reads a :class:`~taskforge.rewards.context.ScoreContext` and returns a value:
``task_success`` in [0, 1], every penalty in [-1, 0] (0 = nothing to penalise, -1 =
saturated). The spec's weight multiplies the value, so a weight is the most a component can
move the score. Add your own with :func:`register_component`:

.. code-block:: python

    class Politeness:
        Params = PolitenessParams          # a pydantic model; {} must validate
        def __init__(self, params: PolitenessParams) -> None: ...
        def score(self, ctx: ScoreContext) -> float: ...

    register_component("politeness", Politeness)
"""

from __future__ import annotations

from collections import Counter
from typing import Any, ClassVar, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from taskforge.rewards.context import DEFAULT_FORBIDDEN_PATTERNS, ScoreContext


class RewardComponent(Protocol):
    """One term of a reward: ``score(ctx)`` is its value for an episode."""

    def score(self, ctx: ScoreContext) -> float:
        """The component's value (task success in [0, 1], penalties in [-1, 0])."""
        ...


class Params(BaseModel):
    """Base of component parameters: unknown parameters are an error."""

    model_config = ConfigDict(extra="forbid")


class NoParams(Params):
    """A component without parameters."""


class SaturatingParams(Params):
    """A count penalty: ``-min(1, count / saturate)``."""

    saturate: float = Field(default=1.0, gt=0, description="Count at which the penalty reaches -1.")


def _count_penalty(count: int, saturate: float) -> float:
    return -min(1.0, count / saturate) if count else 0.0


class TaskSuccess:
    """tau2-semantics task success: the evaluator's reward (product over the reward basis)."""

    Params: ClassVar[type[BaseModel]] = NoParams

    def __init__(self, params: NoParams) -> None:
        self.params = params

    def score(self, ctx: ScoreContext) -> float:
        """1.0 when every evaluated check of the task's reward basis passed, else 0.0."""
        return float(ctx.reward_info.reward)


class GoldWrites:
    """Action-level check: the share of the gold writes the agent did not carry out."""

    Params: ClassVar[type[BaseModel]] = NoParams

    def __init__(self, params: NoParams) -> None:
        self.params = params

    def score(self, ctx: ScoreContext) -> float:
        """``-(missing gold writes / gold writes)``; 0 when the task has no gold write."""
        writes = ctx.writes
        ctx.note(n_gold_writes=writes.n_gold, n_matched=writes.matched)
        return -(writes.n_gold - writes.matched) / writes.n_gold if writes.n_gold else 0.0


class ExtraWrites:
    """Action-level check: successful writes that match no gold write."""

    Params: ClassVar[type[BaseModel]] = SaturatingParams

    def __init__(self, params: SaturatingParams) -> None:
        self.params = params

    def score(self, ctx: ScoreContext) -> float:
        """``-min(1, extra writes / saturate)``."""
        ctx.note(n_extra_writes=ctx.writes.extra)
        return _count_penalty(ctx.writes.extra, self.params.saturate)


class InvalidCallsParams(SaturatingParams):
    """Parameters of ``invalid_calls``."""

    saturate: float = Field(default=5.0, gt=0, description="Count at which the penalty is -1.")


class InvalidCalls:
    """Action-level check: well-formed calls the environment answered with an error."""

    Params: ClassVar[type[BaseModel]] = InvalidCallsParams

    def __init__(self, params: InvalidCallsParams) -> None:
        self.params = params

    def score(self, ctx: ScoreContext) -> float:
        """``-min(1, invalid calls / saturate)``; gold actions that fail are not counted."""
        ctx.note(n_invalid_calls=ctx.n_invalid_calls)
        return _count_penalty(ctx.n_invalid_calls, self.params.saturate)


class RepeatedCallsParams(Params):
    """Parameters of ``repeated_calls``."""

    max_identical: int = Field(
        default=2, ge=1, description="Identical calls allowed before each further one counts."
    )
    consecutive: bool = Field(
        default=True, description="Also count a call identical to the one just before it."
    )
    saturate: float = Field(default=5.0, gt=0, description="Count at which the penalty is -1.")


class RepeatedCalls:
    """Tool-call loops: identical consecutive calls, and identical calls beyond a threshold.

    A call counts once if it repeats the call just before it, or if it is the
    ``max_identical + 1``-th (or later) call with that name and those arguments. Calls the gold
    actions themselves repeat are allowed as often as the gold makes them.
    """

    Params: ClassVar[type[BaseModel]] = RepeatedCallsParams

    def __init__(self, params: RepeatedCallsParams) -> None:
        self.params = params

    def count(self, ctx: ScoreContext) -> int:
        """The number of repeated calls."""
        seen: Counter[tuple[str, str]] = Counter()
        gold = ctx.gold_call_counts
        previous: tuple[str, str] | None = None
        found = 0
        for key in ctx.call_keys:
            seen[key] += 1
            over = seen[key] > max(self.params.max_identical, gold[key])
            again = self.params.consecutive and key == previous and seen[key] > gold[key]
            found += over or again
            previous = key
        return found

    def score(self, ctx: ScoreContext) -> float:
        """``-min(1, repeated calls / saturate)``."""
        found = self.count(ctx)
        ctx.note(n_repeated_calls=found)
        return _count_penalty(found, self.params.saturate)


CountedRole = Literal["assistant", "tool", "user", "system"]


def _default_roles() -> list[CountedRole]:
    return ["assistant", "tool"]


class TokenLengthParams(Params):
    """Parameters of ``token_length``."""

    roles: list[CountedRole] = Field(
        default_factory=_default_roles,
        description="Messages counted: by default what the agent generated and the tool "
        "outputs it asked for (both fill its context and verl's response budget).",
    )
    budget_tokens: int = Field(
        default=1024, ge=1, description="Absolute budget (the floor when gold_ratio is set)."
    )
    gold_ratio: float | None = Field(
        default=2.0,
        gt=0,
        description="Budget relative to the honest gold trajectory: max(budget_tokens, "
        "gold_ratio * gold tokens). None: the absolute budget only.",
    )
    saturate: float = Field(
        default=1.0,
        gt=0,
        description="Excess, as a fraction of the budget, at which the penalty reaches -1.",
    )


class TokenLength:
    """Token-length penalty: ``-min(1, excess / (saturate * budget))`` beyond the budget."""

    Params: ClassVar[type[BaseModel]] = TokenLengthParams

    def __init__(self, params: TokenLengthParams) -> None:
        self.params = params

    def budget(self, ctx: ScoreContext) -> int:
        """The episode's token budget."""
        if self.params.gold_ratio is None:
            return self.params.budget_tokens
        gold = ctx.gold_tokens(self.params.roles).n
        return max(self.params.budget_tokens, round(self.params.gold_ratio * gold))

    def score(self, ctx: ScoreContext) -> float:
        """0 within the budget, then linear down to -1 at ``(1 + saturate) * budget``."""
        tokens, budget = ctx.tokens(self.params.roles), self.budget(ctx)
        ctx.note(tokens=tokens.n, budget=budget, token_source=tokens.source)
        excess = max(0, tokens.n - budget)
        return -min(1.0, excess / (self.params.saturate * budget)) if excess else 0.0


class FormatParams(SaturatingParams):
    """Parameters of ``format``."""

    saturate: float = Field(default=3.0, gt=0, description="Count at which the penalty is -1.")
    forbidden_patterns: list[str] = Field(
        default_factory=lambda: list(DEFAULT_FORBIDDEN_PATTERNS),
        description="Text that must not appear in an assistant message shown to the user.",
    )


class Format:
    """Format penalty: malformed calls, unknown tools, empty turns, leaked template text."""

    Params: ClassVar[type[BaseModel]] = FormatParams

    def __init__(self, params: FormatParams) -> None:
        self.params = params

    def score(self, ctx: ScoreContext) -> float:
        """``-min(1, format errors / saturate)``."""
        found = ctx.n_format_errors(self.params.forbidden_patterns)
        ctx.note(n_format_errors=found)
        return _count_penalty(found, self.params.saturate)


COMPONENTS: dict[str, type[Any]] = {
    "task_success": TaskSuccess,
    "gold_writes": GoldWrites,
    "extra_writes": ExtraWrites,
    "invalid_calls": InvalidCalls,
    "repeated_calls": RepeatedCalls,
    "token_length": TokenLength,
    "format": Format,
}
"""Component kinds: a class with a ``Params`` pydantic model, built as ``cls(params)``."""


def register_component(kind: str, cls: type[Any]) -> None:
    """Register (or replace) a component kind.

    Args:
        kind: The name spec files use in ``kind``.
        cls: A class with a ``Params`` pydantic model (whose defaults validate from ``{}``),
            built as ``cls(params)``, whose instances have ``score(ctx) -> float``.
    """
    if not isinstance(getattr(cls, "Params", None), type) or not callable(
        getattr(cls, "score", None)
    ):
        raise TypeError(f"{cls!r} needs a Params model and a score(ctx) method")
    COMPONENTS[kind] = cls


def component_kinds() -> list[str]:
    """The registered kinds."""
    return sorted(COMPONENTS)
