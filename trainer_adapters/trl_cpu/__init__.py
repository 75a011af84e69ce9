"""GRPO with TRL on CPU on a small local model: the ``trl-cpu`` trainer of ``taskforge loop``.

Single-turn: a task's prompt (:mod:`.prompts`) is answered by one JSON tool call, which runs in
the domain's environment and is scored by the RewardSpec (:mod:`.reward`). See README.md.
"""

from trainer_adapters.trl_cpu.checkpoint import prepare_base
from trainer_adapters.trl_cpu.evaluate import Sampling, evaluate_policy
from trainer_adapters.trl_cpu.prompts import Prompt, PromptBuilder, opening_message, render
from trainer_adapters.trl_cpu.reward import Scored, TaskReward, parse_call
from trainer_adapters.trl_cpu.tasks import easy_tasks, select_easy, within_budget
from trainer_adapters.trl_cpu.train import GRPOOptions, GRPOResult, RunInfo, run_grpo
from trainer_adapters.trl_cpu.trainer import TRLCPUTrainer, grpo_options

__all__ = [
    "GRPOOptions",
    "GRPOResult",
    "Prompt",
    "PromptBuilder",
    "RunInfo",
    "Sampling",
    "Scored",
    "TRLCPUTrainer",
    "TaskReward",
    "easy_tasks",
    "evaluate_policy",
    "grpo_options",
    "opening_message",
    "parse_call",
    "prepare_base",
    "render",
    "run_grpo",
    "select_easy",
    "within_budget",
]
