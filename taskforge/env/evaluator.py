"""tau2-semantics evaluation of an episode, with a structured diff for mining.

* a termination other than an agent or user stop scores 0;
* DB check: hash after replaying the episode's write calls on a fresh DB equals the hash
  after replaying the gold actions on a fresh DB;
* action, communicate and environment-assertion checks as tau2 computes them;
* NL assertions through a pluggable :class:`NLJudge`; with none, they are reported as
  skipped (``RewardInfo.skipped``), never as passed;
* reward = product of the evaluated components in ``reward_basis``.

The gold side depends only on the task and the DB, so it is computed once per task and
reused (keyed by task id and gold actions) — the cost that remains per episode is the replay
of the episode's own writes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import orjson

from taskforge.contracts import (
    ActionCheck,
    CommunicateCheck,
    DBCheck,
    EnvAssertionCheck,
    Message,
    NLAssertionCheck,
    RewardInfo,
    RewardType,
    StateDiff,
    Task,
    TerminationReason,
    ToolCall,
    Trajectory,
)
from taskforge.env.db import Database
from taskforge.env.diff import first_divergent_write, state_diff
from taskforge.env.environment import Environment
from taskforge.env.replay import ReplayResult, calls_in, initial_environment, replay_writes
from taskforge.env.toolkit import Toolkit


class NLJudge(Protocol):
    """Decides natural-language assertions about an episode (an LLM judge, later)."""

    def judge(
        self, task: Task, messages: Sequence[Message], assertions: Sequence[str]
    ) -> list[NLAssertionCheck]:
        """One verdict per assertion."""
        ...


class Evaluator:
    """Scores episodes of one domain on one base DB."""

    def __init__(
        self, toolkit_cls: type[Toolkit], db: Database, nl_judge: NLJudge | None = None
    ) -> None:
        self.toolkit_cls = toolkit_cls
        self.db = db
        self.nl_judge = nl_judge
        self._gold: dict[tuple[str, bytes], ReplayResult] = {}

    def gold(self, task: Task) -> ReplayResult:
        """End state of the task's gold actions (cached per task and gold actions)."""
        actions = task.gold_actions()
        key = (task.id, orjson.dumps([(a.name, a.requestor, a.arguments) for a in actions]))
        if key not in self._gold:
            env = self._initial(task)
            history = task.initial_state.message_history if task.initial_state else None
            replay_writes(env, calls_in(history or []))
            self._gold[key] = _replay_actions(env, task)
        return self._gold[key]

    def _initial(self, task: Task) -> Environment:
        return initial_environment(self.toolkit_cls, self.db, task)

    def evaluate_trajectory(self, task: Task, trajectory: Trajectory) -> RewardInfo:
        """Score a recorded trajectory."""
        return self.evaluate(task, trajectory.messages, trajectory.termination_reason)

    def evaluate(
        self, task: Task, messages: Sequence[Message], termination: TerminationReason
    ) -> RewardInfo:
        """Score an episode given its messages and how it ended."""
        if not termination.is_normal:
            note = f"Simulation terminated prematurely. Termination reason: {termination.value}"
            return RewardInfo(reward=0.0, reward_basis=None, info={"note": note})
        criteria = task.evaluation_criteria
        if criteria is None:
            return RewardInfo(
                reward=1.0, reward_basis=None, info={"note": "No evaluation criteria"}
            )
        basis = list(criteria.reward_basis)
        actual = replay_writes(self._initial(task), calls_in(messages))
        parts = _Components()
        parts.db(self, task, actual)
        parts.env_assertions(task, actual, self.toolkit_cls)
        parts.actions(task, messages, self.toolkit_cls)
        parts.communicate(task, messages)
        parts.nl(task, messages, basis, self.nl_judge)
        return parts.combine(basis)


def _replay_actions(env: Environment, task: Task) -> ReplayResult:
    calls = [
        ToolCall(id=a.action_id, name=a.name, arguments=a.arguments, requestor=a.requestor)
        for a in task.gold_actions()
    ]
    return replay_writes(env, calls)


class _Components:
    """Accumulates the checks of one evaluation, then combines them over the reward basis."""

    def __init__(self) -> None:
        self.rewards: dict[RewardType, float] = {}
        self.skipped: list[RewardType] = []
        self.info = RewardInfo(reward=1.0)

    def db(self, evaluator: Evaluator, task: Task, actual: ReplayResult) -> None:
        gold = evaluator.gold(task)
        match = gold.hash == actual.hash
        self.rewards[RewardType.DB] = 1.0 if match else 0.0
        self.info.db_check = DBCheck(db_match=match, db_reward=self.rewards[RewardType.DB])
        if not match or any(w.error for w in gold.writes):
            self.info.diff = StateDiff(
                fields=[] if match else state_diff(gold.state, actual.state),
                first_divergent_write=None
                if match
                else first_divergent_write(gold.writes, actual.writes),
                gold_errors=[f"{w.name}: {w.error}" for w in gold.writes if w.error],
            )

    def env_assertions(self, task: Task, actual: ReplayResult, toolkit: type[Toolkit]) -> None:
        assert task.evaluation_criteria is not None
        assertions = task.evaluation_criteria.env_assertions or []
        checks = []
        for assertion in assertions:
            met = _run_assertion(toolkit(actual.state), assertion.func_name, assertion.arguments)
            met = met == assertion.assert_value
            checks.append(
                EnvAssertionCheck(env_assertion=assertion, met=met, reward=1.0 if met else 0.0)
            )
        self.info.env_assertions = checks
        self.rewards[RewardType.ENV_ASSERTION] = 1.0 if all(c.met for c in checks) else 0.0

    def actions(self, task: Task, messages: Sequence[Message], toolkit: type[Toolkit]) -> None:
        by_name: dict[str, list[ToolCall]] = {}
        for call in calls_in(messages):
            by_name.setdefault(call.name, []).append(call)
        checks = []
        for action in task.gold_actions():
            met = any(action.matches(c) for c in by_name.get(action.name, ()))
            spec = toolkit.specs.get(action.name)
            checks.append(
                ActionCheck(
                    action=action,
                    action_match=met,
                    action_reward=1.0 if met else 0.0,
                    tool_type=spec.kind.value if spec else None,
                )
            )
        self.info.action_checks = checks
        self.rewards[RewardType.ACTION] = 1.0 if all(c.action_match for c in checks) else 0.0

    def communicate(self, task: Task, messages: Sequence[Message]) -> None:
        assert task.evaluation_criteria is not None
        checks = [
            _communicate_check(info, messages)
            for info in task.evaluation_criteria.communicate_info or []
        ]
        self.info.communicate_checks = checks
        self.rewards[RewardType.COMMUNICATE] = 1.0 if all(c.met for c in checks) else 0.0

    def nl(
        self,
        task: Task,
        messages: Sequence[Message],
        basis: list[RewardType],
        judge: NLJudge | None,
    ) -> None:
        if RewardType.NL_ASSERTION not in basis:
            return
        assert task.evaluation_criteria is not None
        assertions = task.evaluation_criteria.nl_assertions or []
        if not assertions:
            self.rewards[RewardType.NL_ASSERTION] = 1.0
            self.info.nl_assertions = []
        elif judge is None:
            self.skipped.append(RewardType.NL_ASSERTION)
        else:
            checks = judge.judge(task, messages, assertions)
            self.info.nl_assertions = checks
            self.rewards[RewardType.NL_ASSERTION] = 1.0 if all(c.met for c in checks) else 0.0

    def combine(self, basis: list[RewardType]) -> RewardInfo:
        reward = 1.0
        breakdown: dict[RewardType, float] = {}
        for component in basis:
            if component in self.rewards:
                breakdown[component] = self.rewards[component]
                reward *= self.rewards[component]
        self.info.reward = reward
        self.info.reward_basis = basis
        self.info.reward_breakdown = breakdown
        if self.skipped:
            self.info.skipped = self.skipped
            self.info.info = {"note": "not evaluated (no judge configured): NL_ASSERTION"}
        return self.info


def _communicate_check(info: str, messages: Sequence[Message]) -> CommunicateCheck:
    needle = info.lower()
    for message in messages:
        text = message.content
        if message.role != "assistant" or not text or not text.strip():
            continue
        if needle in text.lower().replace(",", ""):
            return CommunicateCheck(
                info=info,
                met=True,
                justification=f"Information '{info}' communicated in the message:\n '{text}'",
            )
    return CommunicateCheck(
        info=info, met=False, justification=f"Information '{info}' not communicated."
    )


def _run_assertion(tools: Toolkit, func_name: str, arguments: dict[str, Any]) -> bool | None:
    """Call an assertion method of the toolkit; None when it is missing or fails."""
    func = getattr(tools, func_name, None)
    if func is None or func_name.startswith("_"):
        return None
    try:
        result = func(**arguments)
    except Exception:
        return None
    return result if isinstance(result, bool) else None
