"""``bench env``: full evaluations per second against a naive baseline measured in the same run.

One full evaluation = a fresh episode environment, the replay of a task's gold actions as the
agent's trajectory, and the whole tau2 evaluation (DB check, action, communicate checks).
The baseline evaluates the same trajectories the naive way: deep copy of the whole DB for each
side, whole-DB JSON hash, no gold cache.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Sequence
from typing import Any

from taskforge.contracts import Message, Task, TerminationReason, ToolCall
from taskforge.env.db import Database, State
from taskforge.env.environment import Environment
from taskforge.env.evaluator import Evaluator
from taskforge.env.replay import calls_in, initial_environment, replay_writes
from taskforge.env.toolkit import Toolkit


def gold_messages(toolkit_cls: type[Toolkit], db: Database, task: Task) -> list[Message]:
    """The task's gold actions played as an agent's trajectory, with real tool outputs.

    The agent ends by telling the user what the task requires it to communicate, if anything.
    """
    env = initial_environment(toolkit_cls, db, task)
    messages = [Message(role="assistant", content="Hi! How can I help you today?")]
    for action in task.gold_actions():
        call = ToolCall(id=action.action_id, name=action.name, arguments=action.arguments)
        messages.append(Message(role="assistant", tool_calls=[call]))
        messages.append(env.step(call))
    criteria = task.evaluation_criteria
    if criteria is not None and criteria.communicate_info:
        answer = "Here is what you asked for: " + "; ".join(criteria.communicate_info) + "."
        messages.append(Message(role="assistant", content=answer))
    messages.append(Message(role="user", content="###STOP###"))
    return messages


def _rate(fn: Callable[[], Any], min_seconds: float, min_runs: int) -> tuple[float, int]:
    """Runs per second of ``fn`` over at least ``min_seconds`` and ``min_runs`` calls."""
    runs, start = 0, time.perf_counter()
    while runs < min_runs or time.perf_counter() - start < min_seconds:
        fn()
        runs += 1
    return runs / (time.perf_counter() - start), runs


class _NaiveDatabase(Database):
    """A deep-copied DB hashed as one JSON document: the baseline's episode state."""

    def __init__(self, tables: dict[str, Any]) -> None:
        self.tables = tables
        self.digests = {t: {} for t in tables}
        self.digest_sum = 0


def _naive_hash(state: State) -> str:
    return _NaiveDatabase(state.to_dict()).full_json_hash()


def naive_evaluate(
    toolkit_cls: type[Toolkit], db: Database, task: Task, msgs: list[Message]
) -> bool:
    """DB check done the naive way: full deep copies and full-JSON hashes on both sides."""
    agent = Environment(toolkit_cls, _NaiveDatabase(copy.deepcopy(db.tables)))
    replay_writes(agent, calls_in(msgs))
    gold = Environment(toolkit_cls, _NaiveDatabase(copy.deepcopy(db.tables)))
    gold_calls = [ToolCall(name=a.name, arguments=a.arguments) for a in task.gold_actions()]
    replay_writes(gold, gold_calls)
    return _naive_hash(agent.state) == _naive_hash(gold.state)


def run_env_bench(
    toolkit_cls: type[Toolkit], db: Database, tasks: Sequence[Task], seconds: float = 2.0
) -> dict[str, Any]:
    """Measure taskforge's evaluation and the naive baseline on the same tasks, same run."""
    episodes = [(t, gold_messages(toolkit_cls, db, t)) for t in tasks]
    stop = TerminationReason.USER_STOP
    warm = Evaluator(toolkit_cls, db)
    state = {"i": 0}

    def next_episode() -> tuple[Task, list[Message]]:
        state["i"] = (state["i"] + 1) % len(episodes)
        return episodes[state["i"]]

    def ours_warm() -> None:
        task, msgs = next_episode()
        warm.evaluate(task, msgs, stop)

    def ours_cold() -> None:
        task, msgs = next_episode()
        Evaluator(toolkit_cls, db).evaluate(task, msgs, stop)

    def naive() -> None:
        task, msgs = next_episode()
        naive_evaluate(toolkit_cls, db, task, msgs)

    rewards = [warm.evaluate(t, m, stop).reward for t, m in episodes]
    warm_rate, warm_runs = _rate(ours_warm, seconds, len(episodes))
    cold_rate, cold_runs = _rate(ours_cold, seconds, len(episodes))
    naive_rate, naive_runs = _rate(naive, seconds, 3)
    env_rate, _ = _rate(lambda: Environment(toolkit_cls, db), seconds / 4, 1000)
    naive_env_rate, _ = _rate(lambda: copy.deepcopy(db.tables), seconds / 4, 3)
    return {
        "n_tasks": len(episodes),
        "gold_trajectory_mean_reward_db": sum(rewards) / len(rewards) if rewards else None,
        "taskforge": {
            "evals_per_sec": round(warm_rate, 1),
            "evals_per_sec_no_gold_cache": round(cold_rate, 1),
            "fresh_env_us": round(1e6 / env_rate, 2),
            "runs": warm_runs + cold_runs,
        },
        "baseline_naive": {
            "evals_per_sec": round(naive_rate, 2),
            "fresh_env_us": round(1e6 / naive_env_rate, 1),
            "full_hash_ms": round(1e3 / _rate(db.full_json_hash, seconds / 4, 3)[0], 2),
            "runs": naive_runs,
        },
        "speedup": {
            "evals": round(warm_rate / naive_rate, 1),
            "evals_no_gold_cache": round(cold_rate / naive_rate, 1),
            "fresh_env": round(env_rate / naive_env_rate, 1),
        },
    }
