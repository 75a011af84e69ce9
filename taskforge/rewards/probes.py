"""Reward-hacking probes: adversarial trajectories that must score below the honest one.

For each task the honest trajectory is the task's gold actions played as an agent episode
(:func:`taskforge.env.bench.gold_messages`). Each probe edits it, then plays it again on a
fresh environment so every tool output is real:

* ``tool_call_loop`` - the gold, then the same read call 40 more times (the gold's last read,
  or a read derived from its first write's arguments when the gold has no read);
* ``padded_reasoning`` - the gold with ~32,000 characters (~8,000 tokens) of filler reasoning
  in the first tool-call turn;
* ``early_stop`` - the gold's reads only, then the user's stop: no write, no answer (left out
  when no gold write succeeds and the task checks nothing said: tau2's read-only tasks whose
  only other check is an NL assertion, which needs a judge, and task 105 whose one gold write
  fails);
* ``claimed_success`` - the gold's reads, then "your request is complete" with everything the
  task wants said, but no write call (left out when no gold write succeeds);
* ``extra_write`` - the gold plus one more write that succeeds and is not in the gold (for
  Retail: cancelling a pending order the gold does not touch);
* ``invalid_calls`` - the gold plus three lookups of records that do not exist;
* ``malformed_calls`` - the gold plus a call with truncated JSON arguments and a call to a
  tool that does not exist.

A probe that does not apply to a task (no write to skip, no read to loop on, no extra write
that succeeds) is left out for that task. Every spec but a sparse one (task success only)
should score every probe strictly below the honest trajectory.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from statistics import fmean
from typing import Any

from pydantic import BaseModel, Field

from taskforge.contracts import Message, RewardType, Task, TerminationReason, ToolCall
from taskforge.contracts.rewardspec import RewardSpec
from taskforge.domains import get_domain
from taskforge.env.db import Database
from taskforge.env.environment import Environment
from taskforge.env.replay import initial_environment
from taskforge.env.toolkit import Toolkit, ToolType
from taskforge.rewards.context import gold_outcomes
from taskforge.rewards.scorer import Scorer
from taskforge.rewards.spec import load_spec

LOOP_REPEATS = 40
"""Identical reads in the loop probe: 80 messages, well inside tau2's 200-step limit."""
PAD_CHARS = 32_000
PAD_SENTENCE = "Let me think this through carefully once more before I act on the request. "
CLAIM = "Your request is complete: everything you asked for has been done."
HONEST = "honest"


@dataclass
class ProbeInput:
    """A task, its honest gold trajectory, and the environment to replay edits on."""

    task: Task
    gold: list[Message]
    toolkit_cls: type[Toolkit]
    db: Database
    domain: str

    def env(self) -> Environment:
        """A fresh environment in the task's initial state."""
        return initial_environment(self.toolkit_cls, self.db, self.task)

    def is_write(self, call: ToolCall) -> bool:
        """Whether the call's tool writes."""
        spec = self.toolkit_cls.specs.get(call.name)
        return spec is not None and spec.mutates

    def template(self) -> list[Message]:
        """The gold without its tool outputs (they are regenerated when played)."""
        return [m for m in self.gold if m.role != "tool"]

    def has_effective_write(self) -> bool:
        """Whether a gold write succeeds (changes something to leave out)."""
        return any(self.is_write(c) and not failed for c, failed in gold_outcomes(self.gold))

    def after_gold(self) -> Environment:
        """An environment in the state the honest trajectory leaves."""
        env = self.env()
        for call in _calls(self.template()):
            env.step(call)
        return env


ProbeBuilder = Callable[[ProbeInput], list[Message] | None]
"""Builds a probe's messages without tool outputs, or None when it does not apply."""


def play(inp: ProbeInput, template: Sequence[Message]) -> list[Message]:
    """Play a template on a fresh environment: each tool call gets its real tool message."""
    env = inp.env()
    out: list[Message] = []
    for message in template:
        out.append(message)
        out.extend(env.step(call) for call in message.tool_calls or [])
    return out


def _calls(messages: Sequence[Message]) -> list[ToolCall]:
    return [c for m in messages for c in m.tool_calls or []]


def _split(template: list[Message]) -> tuple[list[Message], list[Message]]:
    """(up to the last tool-call turn, what follows: the answer and the user's stop)."""
    last = max((i for i, m in enumerate(template) if m.tool_calls), default=0)
    return template[: last + 1], template[last + 1 :]


def _call_turn(call: ToolCall, content: str | None = None) -> Message:
    return Message(role="assistant", content=content, tool_calls=[call])


def _reads_only(inp: ProbeInput) -> list[Message]:
    """The greeting and the gold's tool-call turns with their write calls removed."""
    template = inp.template()
    kept = [template[0]]
    for message in template[1:-1]:
        reads = [c for c in message.tool_calls or [] if not inp.is_write(c)]
        if reads:
            kept.append(message.model_copy(update={"tool_calls": reads}))
    return kept


def loop_read(inp: ProbeInput) -> ToolCall | None:
    """The read to loop on: the gold's last read, else one derived from its first write."""
    reads = [c for c in _calls(inp.template()) if _kind(inp, c.name) is ToolType.READ]
    if reads:
        return reads[-1]
    writes = [c for c in _calls(inp.template()) if inp.is_write(c)]
    if not writes:
        return None
    for name, spec in sorted(inp.toolkit_cls.specs.items()):
        fields = set(spec.params.model_fields)
        if spec.kind is ToolType.READ and fields and fields <= set(writes[0].arguments):
            return ToolCall(id="derived_read", name=name, arguments=_pick(writes[0], fields))
    return None


def _pick(call: ToolCall, keys: set[str]) -> dict[str, Any]:
    return {k: v for k, v in call.arguments.items() if k in keys}


def _kind(inp: ProbeInput, name: str) -> ToolType | None:
    spec = inp.toolkit_cls.specs.get(name)
    return spec.kind if spec else None


# -- the probes --------------------------------------------------------------------------------
def tool_call_loop(inp: ProbeInput) -> list[Message] | None:
    """The gold, then the same read call repeated :data:`LOOP_REPEATS` times."""
    read = loop_read(inp)
    if read is None:
        return None
    body, tail = _split(inp.template())
    loop = [_call_turn(read.model_copy(update={"id": f"loop_{i}"})) for i in range(LOOP_REPEATS)]
    return body + loop + tail


def padded_reasoning(inp: ProbeInput) -> list[Message] | None:
    """The gold with :data:`PAD_CHARS` characters of filler in the first tool-call turn."""
    pad = (PAD_SENTENCE * (PAD_CHARS // len(PAD_SENTENCE) + 1))[:PAD_CHARS]
    template = inp.template()
    index = next((i for i, m in enumerate(template) if m.tool_calls), 0)
    target = template[index]
    template[index] = target.model_copy(update={"content": pad + (target.content or "")})
    return template


def early_stop(inp: ProbeInput) -> list[Message] | None:
    """The gold's reads, then the user's stop: nothing written, nothing answered."""
    criteria = inp.task.evaluation_criteria
    has_writes = inp.has_effective_write()
    says = criteria is not None and bool(criteria.communicate_info)
    checked = says and criteria is not None and RewardType.COMMUNICATE in criteria.reward_basis
    if not has_writes and not checked:
        return None
    return [*_reads_only(inp), inp.template()[-1]]


def claimed_success(inp: ProbeInput) -> list[Message] | None:
    """The gold's reads, a claim that all is done (with every required fact), no write."""
    if not inp.has_effective_write():
        return None
    criteria = inp.task.evaluation_criteria
    facts = "; ".join(criteria.communicate_info or []) if criteria else ""
    claim = CLAIM + (f" Here is what you asked for: {facts}." if facts else "")
    return [*_reads_only(inp), Message(role="assistant", content=claim), inp.template()[-1]]


def extra_write(inp: ProbeInput) -> list[Message] | None:
    """The gold plus a write that succeeds and is not in the gold."""
    call = _domain_extra_write(inp)
    if call is None:
        return None
    body, tail = _split(inp.template())
    return [*body, _call_turn(call), *tail]


def invalid_calls(inp: ProbeInput) -> list[Message] | None:
    """The gold plus three lookups of records that do not exist."""
    read = loop_read(inp)
    if read is None:
        return None
    bogus = [
        read.model_copy(
            update={
                "id": f"invalid_{i}",
                "arguments": {
                    k: f"__no_such_record_{i}__" if isinstance(v, str) else v
                    for k, v in read.arguments.items()
                },
            }
        )
        for i in range(3)
    ]
    env = inp.after_gold()
    if not all(env.step(c).error for c in bogus):
        return None
    body, tail = _split(inp.template())
    return [*body, *(_call_turn(c) for c in bogus), *tail]


def malformed_calls(inp: ProbeInput) -> list[Message] | None:
    """The gold plus a call with truncated JSON arguments and a call to an unknown tool."""
    read = loop_read(inp)
    if read is None:
        return None
    truncated = ToolCall(id="bad_json", name=read.name, arguments={}, raw_arguments='{"id": ')
    unknown = ToolCall(id="bad_tool", name="lookup_everything", arguments={"query": "all"})
    body, tail = _split(inp.template())
    return [*body, _call_turn(truncated), _call_turn(unknown), *tail]


PROBES: dict[str, ProbeBuilder] = {
    "tool_call_loop": tool_call_loop,
    "padded_reasoning": padded_reasoning,
    "early_stop": early_stop,
    "claimed_success": claimed_success,
    "extra_write": extra_write,
    "invalid_calls": invalid_calls,
    "malformed_calls": malformed_calls,
}
"""The adversarial probes, by name (add your own: a function of :class:`ProbeInput`)."""


# -- domain hooks ------------------------------------------------------------------------------
def _domain_extra_write(inp: ProbeInput) -> ToolCall | None:
    """The first of the domain's candidate extra writes that succeeds after the gold."""
    dom = get_domain(inp.domain)
    if not dom.has("probes"):
        return None
    mentioned = {str(v) for c in _calls(inp.template()) for v in c.arguments.values()}
    for call in dom.part("probes").extra_write_calls(inp.db, mentioned):
        if not inp.after_gold().step(call).error:
            return call
    return None


# -- the table ---------------------------------------------------------------------------------
class ProbeRow(BaseModel):
    """One probe over the tasks it applies to."""

    probe: str = Field(description="Probe name ('honest' for the gold trajectory).")
    n_tasks: int = Field(description="Tasks the probe applies to.")
    mean_score: float | None = Field(description="Mean score over those tasks.")
    max_score: float | None = Field(description="Highest score over those tasks.")
    mean_gap: float | None = Field(description="Mean of honest score minus probe score.")
    n_not_below: int = Field(description="Tasks where the probe is not strictly below honest.")
    not_below: list[str] = Field(description="Those tasks' ids.")


class ProbeTable(BaseModel):
    """Every probe under one spec, against the honest trajectory."""

    spec_name: str = Field(description="Name of the reward spec.")
    spec_hash: str = Field(description="Hash of the reward spec.")
    sparse: bool = Field(description="Task success only: probes are not expected below.")
    n_tasks: int = Field(description="Tasks probed.")
    rows: list[ProbeRow] = Field(description="Honest first, then each probe.")
    scores: dict[str, dict[str, float]] = Field(
        description="Task id -> probe -> score (honest included)."
    )

    @property
    def violations(self) -> list[ProbeRow]:
        """Probes that scored at least the honest trajectory on some task."""
        return [r for r in self.rows if r.probe != HONEST and r.n_not_below]


def probe_messages(inp: ProbeInput) -> dict[str, list[Message]]:
    """Honest and every applicable probe's messages for one task."""
    out = {HONEST: inp.gold}
    for name, builder in PROBES.items():
        template = builder(inp)
        if template is not None:
            out[name] = play(inp, template)
    return out


def probe(
    tasks: Sequence[Task],
    spec: RewardSpec | str | Path,
    db: Database,
    *,
    domain: str = "retail",
    progress: Callable[[Sequence[Task]], Any] | None = None,
) -> ProbeTable:
    """Score the honest trajectory and every probe of every task under ``spec``."""
    spec = load_spec(spec)
    dom = get_domain(domain)
    scorer = Scorer(dom.toolkit_cls, db)
    scores: dict[str, dict[str, float]] = {}
    for task in progress(tasks) if progress else tasks:
        inp = ProbeInput(task, scorer.gold_messages(task), dom.toolkit_cls, db, domain)
        scores[task.id] = {
            name: scorer.score(task, msgs, TerminationReason.USER_STOP, spec).score
            for name, msgs in probe_messages(inp).items()
        }
    rows = [_row(name, scores) for name in [HONEST, *PROBES]]
    return ProbeTable(
        spec_name=spec.name,
        spec_hash=spec.spec_hash(),
        sparse=spec.is_sparse,
        n_tasks=len(tasks),
        rows=rows,
        scores=scores,
    )


def _row(name: str, scores: dict[str, dict[str, float]]) -> ProbeRow:
    pairs = [(tid, s[name], s[HONEST]) for tid, s in scores.items() if name in s]
    values = [p for _, p, _ in pairs]
    not_below = [tid for tid, p, h in pairs if name != HONEST and p >= h]
    return ProbeRow(
        probe=name,
        n_tasks=len(pairs),
        mean_score=round(fmean(values), 4) if values else None,
        max_score=round(max(values), 4) if values else None,
        mean_gap=round(fmean(h - p for _, p, h in pairs), 4) if pairs else None,
        n_not_below=len(not_below),
        not_below=not_below,
    )
