"""Easy tasks for a small model: one write call, every argument stated in the opening message.

The rule (generic: it reads only the gold actions, the toolkit's tool kinds and the opening
message) keeps a task when

1. its gold actions hold exactly one write (a tool whose toolkit spec ``mutates``), and
2. every argument value of that write is stated in the user's opening message: each string
   (list items and nested values too, numbers as text) is a case-insensitive substring of
   the message, or all of its words appear among the message's words (``ordered by
   mistake`` is stated by ``I ordered it by mistake``);

and then checks it with the evaluator: the single gold write alone (greeting, opening, the
call, its result) scores task success 1, and doing nothing (greeting, opening) scores 0.
Read calls of the gold (look-ups) are not needed for success: tau2's reward basis of these
tasks is the DB state (and communicated facts, of which write tasks have none).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from taskforge.contracts import Message, Task, TerminationReason, ToolCall
from taskforge.domains import get_domain
from taskforge.env.db import Database
from taskforge.env.evaluator import Evaluator
from taskforge.errors import DataError
from taskforge.rollout.prompts import GREETING
from trainer_adapters.trl_cpu.prompts import call_json, opening_message, write_actions

_WORD = re.compile(r"[#\w]+")


def easy_tasks(
    db: Database, domain: str = "retail", n: int = 8, seed: int = 0, prefix: str = "easy"
) -> list[Task]:
    """A fixed set of ``n`` easy generated tasks (see the module docstring for the rule).

    Args:
        db: The DB to generate the tasks on (and to evaluate them on).
        domain: Domain name.
        n: Number of tasks.
        seed: Seed of the task sampler and of the users' openings; same arguments, same tasks.
        prefix: Task id prefix.

    Returns:
        Up to ``n`` tasks, in the sampler's order (fewer when the DB has too few records).
    """
    from taskforge.synthesis.seed import sample_seed_tasks

    candidates = _sample(lambda m: sample_seed_tasks(db, m, seed, prefix), max(16, 6 * n))
    return select_easy(candidates, db, domain, seed)[:n]


def easy_task_sets(
    db: Database,
    domain: str,
    n_train: int,
    n_eval: int,
    seed: int = 0,
    fits: Callable[[Task], bool] | None = None,
) -> tuple[list[Task], list[Task]]:
    """Disjoint evaluation and training sets of easy tasks (no gold write on both sides).

    Both come from one sample of :func:`easy_tasks` (the tasks ``fits`` accepts, e.g. those
    whose gold reply fits the completion budget); a gold write (same tool, same arguments)
    is used once, so evaluation is on writes the policy was not trained on.

    Returns:
        ``(train, evals)``, fewer than asked when the DB has too few easy tasks.
    """
    pool = easy_tasks(db, domain, 4 * (n_train + n_eval), seed, prefix="bench")
    pool = [t for t in pool if fits is None or fits(t)]
    specs = get_domain(domain).toolkit_cls.specs
    train: list[Task] = []
    evals: list[Task] = []
    seen: set[str] = set()
    for task in pool:
        key = call_json(write_actions(task, specs)[0])
        if key in seen:
            continue
        seen.add(key)
        if len(evals) < n_eval:
            evals.append(task)
        elif len(train) < n_train:
            train.append(task)
    return train, evals


def _sample(make: Any, m: int) -> list[Task]:
    """``make(m)``, halving ``m`` while the DB has too few records for it."""
    while m > 0:
        try:
            tasks: list[Task] = make(m)
            return tasks
        except DataError:
            m //= 2
    return []


def select_easy(tasks: Sequence[Task], db: Database, domain: str, seed: int = 0) -> list[Task]:
    """The tasks that follow the rule and pass the evaluator's two checks, in order."""
    domain_ = get_domain(domain)
    evaluator = Evaluator(domain_.toolkit_cls, db)
    kept = []
    for task in tasks:
        writes = write_actions(task, domain_.toolkit_cls.specs)
        if len(writes) != 1:
            continue
        opening = opening_message(task, db, seed)
        if not stated(writes[0].arguments, opening):
            continue
        if single_write_checks(task, db, domain, evaluator, opening):
            kept.append(task)
    return kept


def within_budget(
    tasks: Sequence[Task], domain: str, tokenizer: Any, max_tokens: int
) -> list[Task]:
    """The tasks whose gold reply (its JSON and the end-of-turn token) fits ``max_tokens``.

    A completion cut at the budget cannot be parsed, so a longer gold reply cannot succeed.
    """
    specs = get_domain(domain).toolkit_cls.specs
    kept = []
    for task in tasks:
        writes = write_actions(task, specs)
        if len(writes) == 1 and len(tokenizer(call_json(writes[0]))["input_ids"]) < max_tokens:
            kept.append(task)
    return kept


def stated(arguments: dict[str, Any], message: str) -> bool:
    """Whether every argument value is stated in ``message`` (substring or all its words)."""
    lowered = message.lower()
    words = set(_WORD.findall(lowered))
    for value in _leaves(arguments):
        text = str(value).lower()
        if text in lowered:
            continue
        if not set(_WORD.findall(text)) <= words:
            return False
    return True


def _leaves(value: Any) -> Iterator[Any]:
    if isinstance(value, dict):
        for item in value.values():
            yield from _leaves(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _leaves(item)
    elif value is not None:
        yield value


def single_write_checks(
    task: Task, db: Database, domain: str, evaluator: Evaluator, opening: str
) -> bool:
    """The gold write alone scores task success 1; doing nothing scores 0."""
    write = write_actions(task, get_domain(domain).toolkit_cls.specs)[0]
    call = ToolCall(id="call_0", name=write.name, arguments=dict(write.arguments))
    start = [
        Message(role="assistant", content=GREETING),
        Message(role="user", content=opening),
    ]
    result = get_domain(domain).environment(db).step(call)
    done = [*start, Message(role="assistant", content=None, tool_calls=[call]), result]
    stop = TerminationReason.USER_STOP
    success = evaluator.evaluate(task, done, stop).reward
    nothing = evaluator.evaluate(task, start, stop).reward
    return not result.error and success >= 1.0 and nothing == 0.0
