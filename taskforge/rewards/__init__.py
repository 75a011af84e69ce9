"""Rewards: a versioned :class:`RewardSpec` turned into a pure scorer, and hacking probes.

**How a score is made.** Each component of a spec gives a value: ``task_success`` the tau2
reward of the episode (0 or 1: tau2 semantics, from :class:`~taskforge.env.evaluator.Evaluator`
on the task's initial DB), every penalty a value in [-1, 0] (0: nothing to penalise, -1:
saturated). The score is

    score = clip(sum(weight_i * value_i), clip_min, clip_max)        (default clip [-1, 1])

so a weight is the most its component can move the score. Penalties apply to failed episodes
too (GRPO then still prefers the failure that did not loop). With the presets a successful
episode scores in [0.1, 1] and a failed one in [-0.9, 0]: the penalty weights sum to 0.9, below
the success weight, so any success outranks any failure.

**Components** (``taskforge.rewards.components``; add your own with ``register_component``):
``task_success``; action-level checks ``gold_writes`` (share of gold writes not carried out),
``extra_writes`` (successful writes not in the gold), ``invalid_calls`` (well-formed calls the
environment refused, gold actions excepted); ``repeated_calls`` (identical consecutive calls,
and identical name+arguments beyond ``max_identical``); ``token_length`` (tokens of the
assistant turns and tool outputs beyond ``max(budget_tokens, gold_ratio * gold tokens)``, by
the provider's counts when the messages carry them, else ceil(chars / 4)); ``format``
(non-JSON arguments, unknown tools, empty turns, leaked template text).

**Presets** (:data:`PRESETS`): ``raft`` (all components), ``success-only`` (sparse, for
ablations), ``no-repeat-penalty`` (raft without ``repeated_calls``).
"""

from taskforge.contracts.rewardspec import (
    ComponentScore,
    RewardBreakdown,
    RewardComponentSpec,
    RewardNotes,
    RewardSpec,
    SuccessSummary,
)
from taskforge.rewards.components import (
    COMPONENTS,
    RewardComponent,
    component_kinds,
    register_component,
)
from taskforge.rewards.context import ScoreContext
from taskforge.rewards.probes import PROBES, ProbeRow, ProbeTable, probe, probe_messages
from taskforge.rewards.scorer import Scorer, score, score_messages, scorer_for, to_messages
from taskforge.rewards.spec import PRESETS, dump_spec, load_spec

__all__ = [
    "COMPONENTS",
    "PRESETS",
    "PROBES",
    "ComponentScore",
    "ProbeRow",
    "ProbeTable",
    "RewardBreakdown",
    "RewardComponent",
    "RewardComponentSpec",
    "RewardNotes",
    "RewardSpec",
    "ScoreContext",
    "Scorer",
    "SuccessSummary",
    "component_kinds",
    "dump_spec",
    "load_spec",
    "probe",
    "probe_messages",
    "register_component",
    "score",
    "score_messages",
    "scorer_for",
    "to_messages",
]
