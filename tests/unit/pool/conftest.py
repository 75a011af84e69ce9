"""Fixtures for pool tests: certified targeted tasks, and real scored trajectories of them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

from taskforge.contracts import Message, Run, Task, TerminationReason, Trajectory
from taskforge.domains import get_domain
from taskforge.env.bench import gold_messages
from taskforge.env.evaluator import Evaluator
from taskforge.warehouse import ShardWriter, get_adapter, ingest_paths


@pytest.fixture(scope="session")
def targeted() -> list[Task]:
    """Certified targeted tasks of four families on the bundled DB (4 sampled per family)."""
    from taskforge.mining.embed import HashingEmbedder
    from taskforge.synthesis.synthesize import synthesize

    dom = get_domain("retail")
    families = ["multi_order", "variant_selection", "multi_write", "payment_difference"]
    report = synthesize(dom.load_db(), dom.toolkit_cls, families, 4, 0, HashingEmbedder())
    assert len(report.accepted) >= 12
    return report.accepted


def play(
    shard: Path,
    warehouse: Path,
    run_id: str,
    created_at: str,
    outcomes: Mapping[str, Sequence[bool]],
    tasks: Sequence[Task],
) -> None:
    """Record one run: per task, one trial per outcome (True = the gold episode, False = an
    agent that does nothing), each scored by the evaluator; then ingest it."""
    dom = get_domain("retail")
    db = dom.load_db()
    evaluator = Evaluator(dom.toolkit_cls, db)
    run = Run(run_id=run_id, source="taskforge", created_at=created_at)
    played = [t for t in tasks if t.id in outcomes]
    with ShardWriter(shard) as writer:
        writer.run(run)
        for task in played:
            writer.task(run_id, task)
            gold = gold_messages(dom.toolkit_cls, db, task)
            idle = [Message(role="assistant", content="Hi! How can I help you today?")]
            for trial, ok in enumerate(outcomes[task.id]):
                messages = gold if ok else idle
                info = evaluator.evaluate(task, messages, TerminationReason.USER_STOP)
                assert info.reward == (1.0 if ok else 0.0)
                writer.trajectory(
                    run_id,
                    Trajectory(
                        id=f"{run_id}-{task.id}-{trial}",
                        task_id=task.id,
                        trial=trial,
                        termination_reason=TerminationReason.USER_STOP,
                        messages=messages,
                        reward_info=info,
                    ),
                )
    ingest_paths(warehouse, get_adapter("jsonl"), [shard])
