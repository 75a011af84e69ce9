"""Judges: why did a failed episode fail, and who is to blame.

Two implementations of the :class:`Judge` protocol:

* :class:`DiagnosticJudge` (offline, pure Python): aligns the agent's write calls with the
  task's gold writes, looks at the trajectory around the decisive write (was the user asked
  to confirm? did the agent claim a success it never produced? did it loop on one call?) and
  writes a templated explanation. The wording is fixed per *mechanism*, with the tool and
  argument names filled in, so that embeddings of explanations cluster by mechanism.
* :class:`LLMJudge`: asks an LLM (through :class:`taskforge.llm.LLMClient`, so any LiteLLM
  model, offline ones included) for a JSON verdict from a prompt in the project's own words
  (``prompts/judge.md``); validates it, retries once, then falls back to the diagnostic
  judgment marked with ``structured["llm_error"]``.

Mechanisms (``structured["mechanism"]``) and their categories:

=================  ===================  ====================================================
mechanism          category             evidence in the diff / trajectory
=================  ===================  ====================================================
wrong_variant      wrong_argument       same tool, order and items; ``new_item_ids`` differ
wrong_item         wrong_record         same tool and order; ``item_ids`` differ
wrong_order        wrong_record         same tool; ``order_id`` differs
wrong_user         wrong_record         same tool; ``user_id`` differs
wrong_record       wrong_record         same tool; another record argument differs (a
                                        domain's hint, e.g. a reservation id)
wrong_argument     wrong_argument       same tool and record; another argument differs
skip_confirmation  no_confirmation      the divergent write had no confirmation question (and
                                        is not on a wrong record or variant: those name it)
wrong_tool         extra_action         another write tool on the record of a gold write
extra_write        extra_action         a successful write the gold does not make
repeat_call        repeated_calls       gold write missing; >= 3 identical calls in a row
early_stop         early_stop           gold write missing; the agent claimed completion
failed_write       tool_error           gold write missing; the agent's attempts all failed
missing_write      missing_action       gold write missing, never attempted, not claimed
communication      communication        DB right; required information not communicated
=================  ===================  ====================================================

Blame (kept simple on purpose): ``environment`` for infrastructure, unexpected-error and
timeout terminations; ``user_simulator`` for a user-error termination or a user message with
``###OUT-OF-SCOPE###``; ``task`` when a gold write fails on replay
(``reward.diff.gold_errors``); ``agent`` otherwise. A user who stops before stating all of
their requests is not detected.

The judges never read ``Trajectory.error_modes`` (the ground truth mining is scored against).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from string import Template
from typing import Any, Protocol, get_args

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from taskforge.contracts import (
    Message,
    RewardInfo,
    Task,
    TerminationReason,
    ToolCall,
    Trajectory,
)
from taskforge.contracts.judgment import Blame, FailureCategory, Judgment
from taskforge.env.toolkit import Toolkit, ToolType
from taskforge.llm.client import LLMClient, LLMError

DIAGNOSTIC_VERSION = "diagnostic-v1"
LLM_VERSION = "llm-judge-v2"
OUT_OF_SCOPE = "###OUT-OF-SCOPE###"
REPEAT_THRESHOLD = 3
"""Identical consecutive calls from which a run counts as a loop."""
PROMPT_PATH = Path(__file__).resolve().parent / "prompts" / "judge.md"
MAX_OUTPUT_CHARS = 1200
"""Tool outputs longer than this are shortened in the LLM prompt."""

_CONFIRM_RE = re.compile(
    r"confirm|yes/no|\(yes|reply \W?yes|proceed|shall i\b|should i\b|would you like me to|"
    r"do you want me to|is (this|that|everything) correct|go ahead\?",
    re.IGNORECASE,
)
_CLAIM_RE = re.compile(
    r"\b(has|have) been (successfully )?(cancel|updat|modif|submit|process|request|exchang|"
    r"return|chang|complet|placed)|\bsuccessfully\b|\bis now (cancel|updat|chang)|\ball set\b",
    re.IGNORECASE,
)
_ENV_TERMINATIONS = {
    TerminationReason.INFRASTRUCTURE_ERROR,
    TerminationReason.UNEXPECTED_ERROR,
    TerminationReason.TIMEOUT,
}


@dataclass(frozen=True)
class ArgumentRoles:
    """Which write arguments identify an entity (a domain's judge hints), most specific first.

    ``record_args`` name a record (``(argument, mechanism when it differs)``), ``item_args``
    list sub-records. With none (a domain without hints) every differing argument is a plain
    ``wrong_argument`` and writes are paired by similarity alone.
    """

    record_args: tuple[tuple[str, str], ...] = ()
    item_args: tuple[tuple[str, str], ...] = ()

    @property
    def all(self) -> tuple[tuple[str, str], ...]:
        """Record arguments, then item arguments."""
        return (*self.record_args, *self.item_args)

    @property
    def mechanisms(self) -> frozenset[str]:
        """Mechanisms the diff names by the record written; a missing confirmation does not
        hide them."""
        return frozenset(m for _, m in self.all)

    def record(self, arguments: dict[str, Any]) -> Any:
        """The record a write acts on (its first record argument present), or None."""
        return next((arguments[n] for n, _ in self.record_args if n in arguments), None)


def roles_of(toolkit_cls: type[Toolkit]) -> ArgumentRoles:
    """The argument roles of the registered domain whose toolkit this is (none: empty)."""
    from taskforge.domains import domain_for_toolkit

    domain = domain_for_toolkit(toolkit_cls)
    hints = domain.hints() if domain is not None else None
    if hints is None:
        return ArgumentRoles()
    return ArgumentRoles(tuple(hints.RECORD_ARGS), tuple(hints.ITEM_ARGS))


# -- the protocol and keys ---------------------------------------------------------------------


class Judge(Protocol):
    """Explains one failed trajectory."""

    def judge(
        self, task: Task, trajectory: Trajectory, reward: RewardInfo, traj_uid: str
    ) -> Judgment:
        """The judgment of ``trajectory`` (warehouse key ``traj_uid``) on ``task``.

        Args:
            task: The task played.
            trajectory: The failed episode.
            reward: Its evaluation, with the structured diff when the DB differs.
            traj_uid: Warehouse key of the trajectory.
        """
        ...


def judgment_key(judge: str, model: str | None, prompt_version: str | None, traj_uid: str) -> str:
    """Content key of a judgment: the same judge, model, prompt and trajectory, the same key.

    Same scheme as ``taskforge.warehouse.keys.content_key`` (not imported: that package pulls
    in DuckDB).
    """
    parts = [judge, model, prompt_version, traj_uid]
    digest = hashlib.sha256(orjson.dumps(parts, option=orjson.OPT_SORT_KEYS)).hexdigest()
    return f"jdg-{digest[:24]}"


def judgment_text(j: Judgment) -> str:
    """What gets embedded: the explanation plus a compact rendering of the structured features.

    Values that are record ids (expected/actual) are left out: only the category and the
    categorical features (mechanism, tool, argument, flags) are rendered.
    """
    s = j.structured
    feats = [f"category {j.category}"]
    for key in ("mechanism", "tool", "argument"):
        if s.get(key):
            feats.append(f"{key} {s[key]}")
    for key, word in (("confirmed", "confirmed"), ("claimed_done", "claimed done")):
        if s.get(key) is not None:
            feats.append(f"{word} {'yes' if s[key] else 'no'}")
    if s.get("repeated_call"):
        feats.append(f"repeated call {s['repeated_call']}")
    return f"{j.explanation} [{'; '.join(feats)}]"


def mechanism_text(j: Judgment) -> str:
    """What gets embedded for clustering: how the episode failed, without which tool or record.

    The explanation's first sentence (the failure mechanism) with the category and mechanism.
    Tool and argument names stay out: identical mechanisms on different tools would otherwise
    split into many small patterns; the pattern's signature keeps the dominant tool instead.
    """
    head = j.explanation.split(". ")[0].rstrip(".")
    mechanism = j.structured.get("mechanism") or j.category
    return f"{head}. [category {j.category}; mechanism {mechanism}]"


# -- reading the trajectory --------------------------------------------------------------------


@dataclass(frozen=True)
class AgentWrite:
    """A write call the agent made: message index, name, arguments, error (None: success)."""

    step: int
    name: str
    arguments: dict[str, Any]
    error: str | None


@dataclass
class Finding:
    """One discrepancy between the agent's writes and the gold writes."""

    mechanism: str
    expected: dict[str, Any] | None = None
    actual: AgentWrite | None = None
    arguments: list[str] = field(default_factory=list)

    @property
    def order(self) -> tuple[int, int]:
        """Sort key: agent-side findings by step, then missing writes."""
        return (0, self.actual.step) if self.actual is not None else (1, 0)


def _is_write(toolkit_cls: type[Toolkit], name: str) -> bool:
    spec = toolkit_cls.specs.get(name)
    return spec is not None and spec.kind is ToolType.WRITE


def _outputs(messages: Sequence[Message]) -> dict[str, Message]:
    return {m.id: m for m in messages if m.role == "tool" and m.id is not None}


def agent_writes(messages: Sequence[Message], toolkit_cls: type[Toolkit]) -> list[AgentWrite]:
    """The write calls of the episode in order, with the error each returned."""
    outputs = _outputs(messages)
    out = []
    for step, message in enumerate(messages):
        for call in message.tool_calls or []:
            if not _is_write(toolkit_cls, call.name):
                continue
            result = outputs.get(call.id) if call.id else None
            text = (result.content or "") if result is not None else ""
            failed = result is not None and (bool(result.error) or text.startswith("Error"))
            out.append(AgentWrite(step, call.name, call.arguments, text if failed else None))
    return out


def gold_writes(task: Task, toolkit_cls: type[Toolkit]) -> list[dict[str, Any]]:
    """The task's gold write actions as ``{"name", "arguments"}``."""
    return [
        {"name": a.name, "arguments": a.arguments}
        for a in task.gold_actions()
        if _is_write(toolkit_cls, a.name)
    ]


def asked_confirmation(messages: Sequence[Message], step: int) -> bool:
    """Whether the agent asked the user to confirm before the write at ``step``.

    The assistant's text messages between the two user messages that precede the write must
    contain a confirmation question ("confirm", "yes/no", "proceed", "shall I"...).
    """
    users = [i for i in range(step) if messages[i].role == "user" and messages[i].content]
    if not users:
        return False
    start = users[-2] if len(users) > 1 else 0
    return any(
        messages[i].role == "assistant" and _CONFIRM_RE.search(messages[i].content or "")
        for i in range(start, users[-1])
    )


def repeated_run(messages: Sequence[Message]) -> tuple[ToolCall, int, int] | None:
    """The longest run of identical consecutive tool calls: (call, length, first step)."""
    best: tuple[ToolCall, int, int] | None = None
    run: list[tuple[int, ToolCall]] = []
    for step, message in enumerate(messages):
        if message.role in ("user", "assistant") and message.content and not message.tool_calls:
            run = []
        for call in message.tool_calls or []:
            same = run and run[-1][1].name == call.name and run[-1][1].arguments == call.arguments
            run = [*run, (step, call)] if same else [(step, call)]
            if best is None or len(run) > best[1]:
                best = (call, len(run), run[0][0])
    return best


def completion_claim(messages: Sequence[Message], toolkit_cls: type[Toolkit]) -> int | None:
    """Index of the first assistant message claiming a change with no write since the user spoke."""
    wrote = False
    for step, message in enumerate(messages):
        if message.role == "user" and message.content:
            wrote = False
        if any(_is_write(toolkit_cls, c.name) for c in message.tool_calls or []):
            wrote = True
        if message.role == "assistant" and not wrote and _CLAIM_RE.search(message.content or ""):
            return step
    return None


# -- aligning writes ---------------------------------------------------------------------------


def align_writes(
    gold: list[dict[str, Any]],
    actual: list[AgentWrite],
    messages: Sequence[Message] | None = None,
    roles: ArgumentRoles | None = None,
) -> list[Finding]:
    """Discrepancies between gold and agent writes, agent-side ones first, in step order.

    Exact matches (name and arguments, successful) are removed first. With ``messages``, an
    exact match is taken back when the user, since the agent's previous write, named the
    record of another unmatched gold write of that tool and not the record written (the agent
    acted on another record the user also wanted changed, but not now). Each unmatched gold
    write is then paired with the most similar unmatched successful agent write of the same
    tool; the rest with a write of another tool on the same record, else they are missing (or
    failed, when the agent's attempts at that tool all errored). Unpaired successful agent
    writes are extra.
    """
    roles = roles or ArgumentRoles()
    done = [w for w in actual if w.error is None]
    left: list[int] = []
    matched: dict[int, AgentWrite] = {}
    for index, g in enumerate(gold):
        match = next((w for w in done if _same(g, w)), None)
        if match is None:
            left.append(index)
        else:
            matched[index] = match
            done.remove(match)
    findings: list[Finding] = []
    if messages is not None:
        findings += _misdirected(gold, matched, left, actual, messages, roles)
    rest = []
    for index in sorted(left):
        same_tool = [w for w in done if w.name == gold[index]["name"]]
        if not same_tool:
            rest.append(index)
            continue
        args = gold[index]["arguments"]
        write = max(same_tool, key=lambda w: (_similarity(args, w.arguments, roles), -w.step))
        done.remove(write)
        findings.append(_argument_finding(gold[index], write, roles))
    findings += [_unpaired(gold[index], done, actual, roles) for index in rest]
    findings += [Finding("extra_write", actual=w) for w in done]
    return sorted(findings, key=lambda f: f.order)


def _misdirected(
    gold: list[dict[str, Any]],
    matched: dict[int, AgentWrite],
    left: list[int],
    actual: list[AgentWrite],
    messages: Sequence[Message],
    roles: ArgumentRoles,
) -> list[Finding]:
    """Exact matches made on a record the user was not asking about (updates the lists)."""
    findings = []
    for index, write in sorted(matched.items(), key=lambda kv: kv[1].step):
        said = _user_text_since_last_write(write, actual, messages)
        record = roles.record(write.arguments)
        if record is None or str(record) in said:
            continue
        wanted = next(
            (
                i
                for i in left
                if gold[i]["name"] == write.name
                and roles.record(gold[i]["arguments"]) is not None
                and str(roles.record(gold[i]["arguments"])) in said
            ),
            None,
        )
        if wanted is not None:
            left.remove(wanted)
            left.append(index)
            del matched[index]
            findings.append(_argument_finding(gold[wanted], write, roles))
    return findings


def _user_text_since_last_write(
    write: AgentWrite, actual: list[AgentWrite], messages: Sequence[Message]
) -> str:
    start = max((w.step for w in actual if w.step < write.step), default=0)
    return "\n".join(m.content or "" for m in messages[start : write.step] if m.role == "user")


def _same(gold: dict[str, Any], write: AgentWrite) -> bool:
    return bool(gold["name"] == write.name and gold["arguments"] == write.arguments)


def _unpaired(
    gold: dict[str, Any], done: list[AgentWrite], every: list[AgentWrite], roles: ArgumentRoles
) -> Finding:
    """A gold write with no same-tool successful partner: wrong tool, failed, or missing."""
    record = roles.record(gold["arguments"])
    other = [w for w in done if record is not None and roles.record(w.arguments) == record]
    if other:
        done.remove(other[0])
        return Finding("wrong_tool", gold, other[0])
    failed = [w for w in every if w.name == gold["name"] and w.error is not None]
    if failed:
        args = gold["arguments"]
        write = max(failed, key=lambda w: (_similarity(args, w.arguments, roles), w.step))
        finding = _argument_finding(gold, write, roles)
        if not finding.arguments:
            finding.mechanism = "failed_write"
        return finding
    return Finding("missing_write", gold)


def _similarity(expected: dict[str, Any], actual: dict[str, Any], roles: ArgumentRoles) -> int:
    record = roles.record(expected)
    same_record = record is not None and record == roles.record(actual)
    return 10 * same_record + sum(1 for k, v in expected.items() if actual.get(k) == v)


def _argument_finding(gold: dict[str, Any], write: AgentWrite, roles: ArgumentRoles) -> Finding:
    exp, act = gold["arguments"], write.arguments
    differing = [
        k for k in list(exp) + [k for k in act if k not in exp] if exp.get(k) != act.get(k)
    ]
    mechanism = "wrong_argument"
    for name, mech in roles.all:
        if name in differing:
            mechanism = mech
            break
    return Finding(mechanism, gold, write, differing)


# -- explanations ------------------------------------------------------------------------------

_TEMPLATES: dict[str, tuple[FailureCategory, str]] = {
    "wrong_variant": (
        "wrong_argument",
        "Wrong variant: the agent acted on the right order and the right item but chose a "
        "different variant of the same product as the replacement. The {tool} call passed "
        "new_item_ids {actual} where {expected} was required.",
    ),
    "wrong_item": (
        "wrong_record",
        "Wrong item: the agent acted on the right order but on a different item of that order "
        "than the one the user meant. The {tool} call passed item_ids {actual} where "
        "{expected} was required.",
    ),
    "wrong_order": (
        "wrong_record",
        "Wrong order: the agent applied the change to another order of the same user instead "
        "of the order the user meant. The {tool} call targeted order_id {actual} where "
        "{expected} was required.",
    ),
    "wrong_user": (
        "wrong_record",
        "Wrong user: the agent applied the change to another user account than the one "
        "it verified. The {tool} call passed user_id {actual} where {expected} was required.",
    ),
    "wrong_record": (
        "wrong_record",
        "Wrong record: the agent applied the change to another record of the same user than "
        "the one the user meant. The {tool} call passed {argument} {actual} where {expected} "
        "was required.",
    ),
    "wrong_argument": (
        "wrong_argument",
        "Wrong argument value: the agent made the right call on the right record but with a "
        "wrong value for {argument}. The {tool} call passed {actual} where {expected} was "
        "required.",
    ),
    "skip_confirmation": (
        "no_confirmation",
        "No confirmation: the agent changed the database without first listing the details "
        "and asking the user to confirm, and the unconfirmed write was wrong. The {tool} call "
        "was made without explicit user confirmation; its {argument} did not match the "
        "request.",
    ),
    "wrong_tool": (
        "extra_action",
        "Wrong action: the agent made a different kind of change than the one required on the "
        "same record. It called {actual_tool} where {tool} was required.",
    ),
    "extra_write": (
        "extra_action",
        "Unrequested write: the agent made a change that the task does not call for, altering "
        "the database when it should not have. The extra call was {tool}.",
    ),
    "repeat_call": (
        "repeated_calls",
        "Repeated calls: the agent issued the same call {count} times in a row without "
        "progress and then gave up, so the request was never completed. The repeated call "
        "was {repeated}; {missing}.",
    ),
    "early_stop": (
        "early_stop",
        "Early stop: the agent told the user the request was done but never made the required "
        "write. The {tool} call was never attempted.",
    ),
    "failed_write": (
        "tool_error",
        "Failed write: the agent attempted the required write but the tool returned an error "
        "and the change never succeeded. The {tool} call failed with: {error}",
    ),
    "missing_write": (
        "missing_action",
        "Missing action: the agent never made a required write and did not claim to have made "
        "it. The {tool} call is missing.",
    ),
    "communication": (
        "communication",
        "Missing information: the agent's changes were right but it did not tell the user "
        "required information: {info}.",
    ),
    "premature_termination": (
        "premature_termination",
        "Premature termination: the episode ended with {reason} before it could be evaluated.",
    ),
    "task_defect": (
        "task_defect",
        "Task defect: the task's own gold actions fail when replayed ({error}), so the task "
        "cannot be solved as written.",
    ),
    "other": (
        "other",
        "Other failure: the evaluator scored the episode {reward} with no divergent write; "
        "failed checks: {checks}.",
    ),
}


def _short(value: Any, limit: int = 120) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _call_text(name: str, arguments: dict[str, Any]) -> str:
    return _short(f"{name}({json.dumps(arguments, sort_keys=True)})", 240)


@dataclass
class _Diagnosis:
    """What the diagnostic judge concluded, before rendering."""

    mechanism: str
    blame: Blame = "agent"
    step: int | None = None
    fill: dict[str, Any] = field(default_factory=dict)
    evidence: list[str] = field(default_factory=list)
    features: dict[str, Any] = field(default_factory=dict)


class DiagnosticJudge:
    """Offline judge: explains a failure from the evaluator's diff and the trajectory.

    Args:
        toolkit_cls: The domain's toolkit (which tools are writes).
        roles: Which arguments identify an entity (default: the judge hints of the domain
            whose toolkit this is; none for a domain without hints).
    """

    name = "diagnostic"

    def __init__(self, toolkit_cls: type[Toolkit], roles: ArgumentRoles | None = None) -> None:
        self.toolkit_cls = toolkit_cls
        self.roles = roles if roles is not None else roles_of(toolkit_cls)
        self.prompt_version = DIAGNOSTIC_VERSION

    def judge(
        self, task: Task, trajectory: Trajectory, reward: RewardInfo, traj_uid: str
    ) -> Judgment:
        """The judgment of one failed trajectory (see the module docstring for the rules)."""
        diagnosis = self.diagnose(task, trajectory, reward)
        category, template = _TEMPLATES[diagnosis.mechanism]
        explanation = template.format_map(_Fill(diagnosis.fill))
        structured = {"category": category, "mechanism": diagnosis.mechanism}
        structured.update(diagnosis.features)
        return Judgment(
            judgment_id=judgment_key(self.name, None, self.prompt_version, traj_uid),
            traj_uid=traj_uid,
            task_id=trajectory.task_id,
            judge=self.name,
            model=None,
            prompt_version=self.prompt_version,
            category=category,
            blame=diagnosis.blame,
            decisive_step=diagnosis.step,
            explanation=explanation,
            evidence=diagnosis.evidence,
            structured=structured,
        )

    def diagnose(self, task: Task, trajectory: Trajectory, reward: RewardInfo) -> _Diagnosis:
        """The mechanism, blame, decisive step, template values, evidence and features."""
        messages = trajectory.messages
        termination = trajectory.termination_reason
        base = _base_features(trajectory, reward)
        if not termination.is_normal:
            diagnosis = _Diagnosis("premature_termination", _termination_blame(termination))
            diagnosis.fill = {"reason": termination.value}
            diagnosis.step = len(messages) - 1 if messages else None
        elif reward.diff is not None and reward.diff.gold_errors:
            diagnosis = _Diagnosis("task_defect", "task")
            diagnosis.fill = {"error": "; ".join(reward.diff.gold_errors)}
        else:
            diagnosis = self._from_writes(task, messages, reward)
        if any(OUT_OF_SCOPE in (m.content or "") for m in messages if m.role == "user"):
            diagnosis.blame = "user_simulator"
        diagnosis.features = {**base, **diagnosis.features}
        return diagnosis

    def _from_writes(
        self, task: Task, messages: Sequence[Message], reward: RewardInfo
    ) -> _Diagnosis:
        writes = agent_writes(messages, self.toolkit_cls)
        gold = gold_writes(task, self.toolkit_cls)
        findings = align_writes(gold, writes, messages, self.roles)
        summary = {
            "missing_writes": [
                f.expected["name"]
                for f in findings
                if f.mechanism in ("missing_write", "failed_write") and f.expected
            ],
            "extra_writes": [
                f.actual.name for f in findings if f.mechanism == "extra_write" and f.actual
            ],
            "n_writes": len(writes),
            "n_failed_writes": sum(1 for w in writes if w.error is not None),
        }
        if not findings:
            diagnosis = _no_write_diagnosis(messages, reward)
        elif findings[0].actual is not None and findings[0].mechanism != "failed_write":
            diagnosis = _write_diagnosis(findings[0], messages, self.roles)
        else:
            diagnosis = self._missing_diagnosis(findings[0], messages)
        diagnosis.features = {**summary, **diagnosis.features}
        return diagnosis

    def _missing_diagnosis(self, finding: Finding, messages: Sequence[Message]) -> _Diagnosis:
        assert finding.expected is not None
        tool = finding.expected["name"]
        features: dict[str, Any] = {"tool": tool, "is_write": True, "argument": None}
        features["expected_call"] = finding.expected
        run = repeated_run(messages)
        claim = completion_claim(messages, self.toolkit_cls)
        features["claimed_done"] = claim is not None
        evidence = [f"missing: {_call_text(tool, finding.expected['arguments'])}"]
        if run is not None and run[1] >= REPEAT_THRESHOLD:
            call, count, step = run
            diagnosis = _Diagnosis("repeat_call", step=step)
            missing = f"the required write {tool} was never made"
            diagnosis.fill = {"count": count, "repeated": call.name, "missing": missing}
            features.update(repeated_call=call.name, repeat_count=count)
            evidence.insert(0, f"{count} x {_call_text(call.name, call.arguments)}")
        elif finding.mechanism == "failed_write" and finding.actual is not None:
            diagnosis = _Diagnosis("failed_write", step=finding.actual.step)
            diagnosis.fill = {"tool": tool, "error": _short(finding.actual.error or "")}
            evidence.insert(0, _short(finding.actual.error or ""))
        elif claim is not None:
            diagnosis = _Diagnosis("early_stop", step=claim)
            diagnosis.fill = {"tool": tool}
            evidence.insert(0, _short(messages[claim].content or "", 200))
        else:
            last = [i for i, m in enumerate(messages) if m.role == "assistant"]
            diagnosis = _Diagnosis("missing_write", step=last[-1] if last else None)
            diagnosis.fill = {"tool": tool}
        diagnosis.features = features
        diagnosis.evidence = evidence
        return diagnosis


class _Fill(dict[str, Any]):
    """Template values; a missing one renders as 'unknown'."""

    def __missing__(self, key: str) -> str:
        return "unknown"


def _termination_blame(reason: TerminationReason) -> Blame:
    if reason in _ENV_TERMINATIONS:
        return "environment"
    if reason is TerminationReason.USER_ERROR:
        return "user_simulator"
    return "agent"


def _base_features(trajectory: Trajectory, reward: RewardInfo) -> dict[str, Any]:
    run = repeated_run(trajectory.messages)
    return {
        "termination": trajectory.termination_reason.value,
        "reward": reward.reward,
        "db_match": reward.db_check.db_match if reward.db_check is not None else None,
        "max_identical_calls": run[1] if run is not None else 0,
        "transferred": any(c.name == "transfer_to_human_agents" for c in trajectory.tool_calls()),
    }


def _write_diagnosis(
    finding: Finding, messages: Sequence[Message], roles: ArgumentRoles
) -> _Diagnosis:
    """A divergent write the agent made (wrong arguments, wrong tool, or an extra one)."""
    write = finding.actual
    assert write is not None
    confirmed = asked_confirmation(messages, write.step)
    argument = _main_argument(finding, roles)
    specific = confirmed or finding.mechanism in roles.mechanisms
    mechanism = finding.mechanism if specific else "skip_confirmation"
    expected = finding.expected["arguments"] if finding.expected else {}
    tool = finding.expected["name"] if finding.expected else write.name
    diagnosis = _Diagnosis(mechanism, step=write.step)
    diagnosis.fill = {
        "tool": tool,
        "actual_tool": write.name,
        "argument": argument or "its arguments",
        "expected": _short(expected.get(argument)) if argument else "",
        "actual": _short(write.arguments.get(argument)) if argument else "",
    }
    diagnosis.features = {
        "tool": tool,
        "is_write": True,
        "argument": argument,
        "arguments": finding.arguments,
        "expected": expected.get(argument) if argument else None,
        "actual": write.arguments.get(argument) if argument else None,
        "expected_call": finding.expected,
        "actual_call": {"name": write.name, "arguments": write.arguments},
        "diff_mechanism": finding.mechanism,
        "confirmed": confirmed,
        "write_step": write.step,
    }
    diagnosis.evidence = [f"step {write.step}: {_call_text(write.name, write.arguments)}"]
    if write.error is not None:
        diagnosis.features["write_error"] = write.error
        diagnosis.evidence.append(f"the tool answered: {_short(write.error)}")
    if finding.expected:
        diagnosis.evidence.append(
            f"required: {_call_text(finding.expected['name'], finding.expected['arguments'])}"
        )
    return diagnosis


def _main_argument(finding: Finding, roles: ArgumentRoles) -> str | None:
    for name, mechanism in roles.all:
        if finding.mechanism == mechanism:
            return name
    return finding.arguments[0] if finding.arguments else None


def _no_write_diagnosis(messages: Sequence[Message], reward: RewardInfo) -> _Diagnosis:
    """The writes are right: a communication (or other) failure."""
    missing = [c.info for c in reward.communicate_checks or [] if not c.met]
    run = repeated_run(messages)
    if run is not None and run[1] >= REPEAT_THRESHOLD:
        call, count, step = run
        diagnosis = _Diagnosis("repeat_call", step=step)
        told = f"the user was never told {', '.join(missing)}" if missing else "nothing was done"
        diagnosis.fill = {"count": count, "repeated": call.name, "missing": told}
        diagnosis.evidence = [f"{count} x {_call_text(call.name, call.arguments)}"]
        diagnosis.features = {"tool": None, "is_write": False, "argument": None}
        diagnosis.features.update(repeated_call=call.name, repeat_count=count)
        return diagnosis
    if missing:
        diagnosis = _Diagnosis("communication", step=_last_assistant(messages))
        diagnosis.fill = {"info": ", ".join(missing)}
        diagnosis.evidence = [f"not said: {info}" for info in missing]
        diagnosis.features = {"tool": None, "is_write": False, "argument": None}
        return diagnosis
    failed = [k.value for k, v in (reward.reward_breakdown or {}).items() if v < 1.0]
    diagnosis = _Diagnosis("other", step=_last_assistant(messages))
    diagnosis.fill = {"reward": reward.reward, "checks": ", ".join(failed) or "none"}
    diagnosis.features = {"tool": None, "is_write": False, "argument": None}
    return diagnosis


def _last_assistant(messages: Sequence[Message]) -> int | None:
    steps = [i for i, m in enumerate(messages) if m.role == "assistant"]
    return steps[-1] if steps else None


# -- the LLM judge -----------------------------------------------------------------------------

RETRY_PROMPT = (
    "Your answer could not be used: {error}. Answer again with only the JSON object, with the "
    "keys category, blame, decisive_step, explanation and evidence."
)


class LLMVerdict(BaseModel):
    """The JSON object the LLM judge must answer with."""

    model_config = ConfigDict(extra="ignore")

    category: FailureCategory
    blame: Blame
    decisive_step: int | None = None
    explanation: str = Field(min_length=1)
    evidence: list[str] = Field(default_factory=list)


def verdict_schema(n_messages: int) -> dict[str, Any]:
    """The verdict as a JSON schema a server can enforce, so that the answer closes in budget.

    The explanation comes first (the reasoning before the verdict), its length bounded. The
    decisive step is one of the trajectory's message numbers, enumerated, since grammar
    builders ignore ``maximum``: SmolLM2-135M answered 1000000000000000 for a bare integer and
    100 for any of 0..199. ``evidence`` is left out: SmolLM2 filled the quote with 60 to 120
    digits (``"1.1.1.1..."``), half the answer's tokens.
    """
    return {
        "type": "object",
        "properties": {
            "explanation": {"type": "string", "minLength": 20, "maxLength": 160},
            "category": {"type": "string", "enum": list(get_args(FailureCategory))},
            "blame": {"type": "string", "enum": list(get_args(Blame))},
            "decisive_step": {"enum": list(range(max(n_messages, 1)))},
        },
        "required": ["explanation", "category", "blame", "decisive_step"],
        "additionalProperties": False,
    }


def json_object(text: str) -> Any:
    """The JSON object in ``text``: the whole text, a fenced block, or the outermost braces."""
    stripped = text.strip()
    fenced = re.search(r"```(?:json)?\s*(.*?)```", stripped, re.DOTALL)
    candidates = [stripped]
    if fenced:
        candidates.append(fenced.group(1))
    if "{" in stripped and "}" in stripped:
        candidates.append(stripped[stripped.index("{") : stripped.rindex("}") + 1])
    for candidate in candidates:
        try:
            return json.loads(candidate)
        except json.JSONDecodeError:
            continue
    raise ValueError("no JSON object found in the answer")


def parse_verdict(text: str, n_messages: int) -> LLMVerdict:
    """Parse and validate an LLM judge's answer.

    Raises:
        ValueError: not a JSON object, a field missing or invalid, or a decisive step that is
            not a message index.
    """
    data = json_object(text)
    if not isinstance(data, dict):
        raise ValueError("the answer is not a JSON object")
    try:
        verdict = LLMVerdict.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ValueError(problems) from None
    step = verdict.decisive_step
    if step is not None and not 0 <= step < n_messages:
        raise ValueError(f"decisive_step {step} is not a message number (0..{n_messages - 1})")
    return verdict


_CUSTOMER_LABELS = {
    "persona": "Persona",
    "reason": "Reason for contacting support",
    "known": "What the customer knows",
    "unknown": "What the customer does not know",
    "behaviour": "How the customer behaves",
}


def render_request(task: Task) -> str:
    """The user's request: the task's user scenario, in the third person."""
    from taskforge.rollout.prompts import scenario_text

    return scenario_text(task, _CUSTOMER_LABELS, sep="\n")


def render_dialogue(messages: Sequence[Message]) -> str:
    """The numbered dialogue with tool calls and (shortened) tool outputs."""
    lines = []
    for step, message in enumerate(messages):
        if message.content:
            text = message.content
            if message.role == "tool" and len(text) > MAX_OUTPUT_CHARS:
                text = text[:MAX_OUTPUT_CHARS] + " [...]"
            label = "tool output" if message.role == "tool" else message.role
            lines.append(f"[{step}] {label}: {text}")
        for call in message.tool_calls or []:
            args = json.dumps(call.arguments, sort_keys=True)
            lines.append(f"[{step}] {message.role} calls {call.name}({args})")
    return "\n".join(lines)


def render_diff(reward: RewardInfo, termination: TerminationReason) -> str:
    """The evaluator's verdict: reward, failed checks and the structured end-state diff."""
    lines = [f"Episode ended by: {termination.value}. Reward: {reward.reward:g}."]
    breakdown = reward.reward_breakdown or {}
    failed = [k.value for k, v in breakdown.items() if v < 1.0]
    if failed:
        lines.append(f"Failed checks: {', '.join(failed)}.")
    for check in reward.action_checks or []:
        if not check.action_match and check.tool_type == "write":
            args = json.dumps(check.action.arguments, sort_keys=True)
            lines.append(f"Required call never made as such: {check.action.name}({args})")
    lines.extend(
        f"Not told to the customer: {c.info}" for c in reward.communicate_checks or [] if not c.met
    )
    diff = reward.diff
    if diff is not None:
        first = diff.first_divergent_write
        if first is not None:
            lines.append(
                f"First write (position {first.index}) that departs from the reference: "
                f"reference {json.dumps(first.expected)}, agent {json.dumps(first.actual)}"
                + (f", which failed with {first.actual_error!r}" if first.actual_error else "")
            )
        for fd in diff.fields[:20]:
            lines.append(
                f"{fd.table} {fd.key} {fd.field or '(record)'}: expected "
                f"{_short(fd.expected)}, got {_short(fd.actual)}"
            )
        lines.extend(f"Reference solution error: {e}" for e in diff.gold_errors)
    return "\n".join(lines)


def render_prompt(
    task: Task, trajectory: Trajectory, reward: RewardInfo, template: str | None = None
) -> str:
    """The LLM judge's prompt for one trajectory (``prompts/judge.md`` by default)."""
    text = template if template is not None else PROMPT_PATH.read_text(encoding="utf-8")
    return Template(text).substitute(
        request=render_request(task),
        dialogue=render_dialogue(trajectory.messages),
        diff=render_diff(reward, trajectory.termination_reason),
        categories=", ".join(f'"{c}"' for c in get_args(FailureCategory)),
        blames=", ".join(f'"{b}"' for b in get_args(Blame)),
    )


class LLMJudge:
    """Judge through an LLM with a JSON verdict; the diagnostic judgment is its fallback.

    Args:
        client: The judge role's client (any LiteLLM model; ``taskforge/...`` offline ones too).
        prompt_version: Version recorded with every judgment (bump it when the prompt changes).
        fallback: Diagnostic judge used for the diff features and when the LLM fails; by
            default one on ``toolkit_cls``.
        toolkit_cls: The domain's toolkit when no ``fallback`` is given (default: that of the
            default domain).
        json_mode: Ask for ``response_format={"type": "json_object"}`` (unless the role's
            ``extra`` sets one); the answer is parsed from the text either way.
        seed: Sampling seed of the calls (makes them cacheable).
    """

    name = "llm"

    def __init__(
        self,
        client: LLMClient,
        prompt_version: str = LLM_VERSION,
        *,
        fallback: DiagnosticJudge | None = None,
        toolkit_cls: type[Toolkit] | None = None,
        json_mode: bool = True,
        seed: int | None = 0,
    ) -> None:
        self.client = client
        self.json_mode = json_mode
        self.model = client.role.model
        self.prompt_version = prompt_version
        self.fallback = fallback or DiagnosticJudge(toolkit_cls or _default_tools())
        self.seed = seed
        self.template = PROMPT_PATH.read_text(encoding="utf-8")

    def judge(
        self, task: Task, trajectory: Trajectory, reward: RewardInfo, traj_uid: str
    ) -> Judgment:
        """Synchronous :meth:`ajudge` (not from inside a running event loop)."""
        return asyncio.run(self.ajudge(task, trajectory, reward, traj_uid))

    async def ajudge(
        self, task: Task, trajectory: Trajectory, reward: RewardInfo, traj_uid: str
    ) -> Judgment:
        """Ask the LLM; on an invalid answer ask once more; then fall back to the diagnostic."""
        diagnostic = self.fallback.judge(task, trajectory, reward, traj_uid)
        prompt = render_prompt(task, trajectory, reward, self.template)
        messages: list[dict[str, Any]] = [{"role": "user", "content": prompt}]
        client = self.client
        if self.json_mode:
            client = json_client(client, verdict_schema(len(trajectory.messages)))
        error = ""
        for _attempt in range(2):
            try:
                completion = await client.complete(messages, seed=self.seed)
            except LLMError as exc:
                error = f"call failed: {exc}"
                break
            text = completion.message.content or ""
            try:
                verdict = parse_verdict(text, len(trajectory.messages))
            except ValueError as exc:
                error = f"invalid answer: {exc}"
                retry = {"role": "user", "content": RETRY_PROMPT.format(error=exc)}
                messages = [*messages, {"role": "assistant", "content": text}, retry]
                continue
            return self._judgment(verdict, diagnostic, traj_uid)
        marks = {
            "llm_error": error,
            "llm_model": self.model,
            "llm_prompt_version": self.prompt_version,
        }
        return diagnostic.model_copy(update={"structured": {**diagnostic.structured, **marks}})

    def _judgment(self, verdict: LLMVerdict, diagnostic: Judgment, traj_uid: str) -> Judgment:
        structured = {
            k: v for k, v in diagnostic.structured.items() if k not in ("category", "mechanism")
        }
        structured.update(
            category=verdict.category,
            diagnostic_category=diagnostic.category,
            diagnostic_mechanism=diagnostic.structured.get("mechanism"),
        )
        return Judgment(
            judgment_id=judgment_key(self.name, self.model, self.prompt_version, traj_uid),
            traj_uid=traj_uid,
            task_id=diagnostic.task_id,
            judge=self.name,
            model=self.model,
            prompt_version=self.prompt_version,
            category=verdict.category,
            blame=verdict.blame,
            decisive_step=verdict.decisive_step,
            explanation=verdict.explanation.strip(),
            evidence=[e for e in verdict.evidence if e.strip()][:5],
            structured=structured,
        )


def json_client(client: LLMClient, schema: dict[str, Any] | None = None) -> LLMClient:
    """The same client asking for JSON output (sharing its limit, cache and meter).

    With ``schema`` and a role whose server enforces schemas (``json_schema: true``), the
    answer must follow ``schema``; otherwise any JSON object is asked for.
    """
    role = client.role
    if "response_format" in role.extra:
        return client
    response_format: dict[str, Any] = {"type": "json_object"}
    if schema is not None and role.json_schema:
        response_format = {
            "type": "json_schema",
            "json_schema": {"name": "answer", "schema": schema},
        }
    extra = {**role.extra, "response_format": response_format}
    derived = LLMClient(
        role.model_copy(update={"extra": extra}), None, client.limit, name=client.name
    )
    derived.cache, derived.meter = client.cache, client.meter
    return derived


def _default_tools() -> type[Toolkit]:
    from taskforge.domains import DEFAULT_DOMAIN, get_domain

    return get_domain(DEFAULT_DOMAIN).toolkit_cls
