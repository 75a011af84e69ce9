"""verl's custom reward function: the taskforge reward spec applied to one episode.

verl loads this file by path (``reward.custom_reward_function.path``) and calls
:func:`compute_score` once per rollout, with the row's ``extra_info`` merged with the sample's
agent-loop ``extra_fields``; the taskforge agent loop puts the scored episode there, so the
reward is computed on the episode's real turns and tool calls (not on re-parsed decoded text).
The spec is chosen with ``reward.custom_reward_function.reward_kwargs.spec`` (a preset name or
a spec file; the export writes ``reward_spec.json``). Imports are absolute: verl imports this
file under a module name of its own.
"""

from __future__ import annotations

import functools
from typing import Any

from taskforge.contracts import Trajectory
from trainer_adapters.verl.inputs import EPISODE_FIELD, EpisodeInputs, episode_inputs

DEFAULT_SPEC = "raft"


@functools.lru_cache(maxsize=16)
def load_reward_spec(spec: str) -> Any:
    """A reward spec by preset name or file path (parsed once per process)."""
    from taskforge.rewards import load_spec

    return load_spec(spec)


def score_episode(trajectory: Trajectory, inputs: EpisodeInputs, spec: Any) -> dict[str, float]:
    """``score`` and every component of the spec on one episode."""
    from taskforge.rewards import score_messages

    breakdown = score_messages(
        trajectory.messages,
        inputs.task,
        spec,
        db=inputs.db,
        termination=trajectory.termination_reason,
    )
    flat: dict[str, float] = breakdown.as_flat_dict()
    return flat


def compute_score(
    data_source: str,
    solution_str: str,
    ground_truth: str,
    extra_info: dict[str, Any] | None = None,
    spec: str = DEFAULT_SPEC,
    **_: Any,
) -> dict[str, float]:
    """The spec's reward of one rollout, as verl's reward managers expect it.

    Args:
        data_source: The row's data source (``taskforge/<domain>``).
        solution_str: The decoded response (unused: the episode's turns are scored instead).
        ground_truth: The task id (``reward_model.ground_truth``).
        extra_info: The row's extra_info plus the agent loop's extra fields.
        spec: A reward spec preset name or file (``reward_kwargs.spec``).

    Returns:
        ``{"score": total, <component>: value, ...}``; verl trains on ``score`` and logs the rest.

    Raises:
        ValueError: when the rollout was not played by the taskforge agent loop, or played
            another task than the row's.
    """
    inputs = episode_inputs(extra_info, where=f"verl rollout of task {ground_truth!r}")
    raw = (extra_info or {}).get(EPISODE_FIELD)
    if not raw:
        raise ValueError(
            f"rollout of task {ground_truth!r}: no '{EPISODE_FIELD}' in extra_info; the rows of "
            "`taskforge export verl` must be played by the taskforge agent loop (agent_name)"
        )
    trajectory = Trajectory.model_validate_json(raw)
    if trajectory.task_id != str(ground_truth):
        raise ValueError(
            f"rollout of task {ground_truth!r} recorded an episode of task {trajectory.task_id!r}"
        )
    return score_episode(trajectory, inputs, load_reward_spec(spec))
