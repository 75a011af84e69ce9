"""The cycle: rollout -> mine -> synthesize -> verify -> pool -> export -> train -> ingest."""

from taskforge.contracts.loop import LoopConfig
from taskforge.loop.config import load_loop_config
from taskforge.loop.context import LoopContext, config_hash
from taskforge.loop.runner import ROUND_STAGES, run_loop

__all__ = [
    "ROUND_STAGES",
    "LoopConfig",
    "LoopContext",
    "config_hash",
    "load_loop_config",
    "run_loop",
]
