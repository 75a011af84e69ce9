"""The verl adapter behind the loop's trainer protocol (``trainer: verl``, a GPU machine).

GRPO through :mod:`trainer_adapters.verl.launch` on the round's verl export. RAFT rounds start
from ``training.model`` every round; on-policy rounds have verl save the actor in Hugging Face
form and continue from the previous round's last saved step. ``training.dry_run`` renders the
command and checks it against verl's own config, which a CPU machine can do.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from taskforge.errors import TaskforgeError
from taskforge.loop.trainer import TrainRequest, TrainResult

if TYPE_CHECKING:
    from taskforge.contracts.loop import LoopConfig
    from trainer_adapters.verl.launch import LaunchRequest

SAVE_HF_MODEL = (
    "actor_rollout_ref.actor.checkpoint.save_contents=['model','optimizer','extra','hf_model']"
)
"""On-policy rounds continue from the last round's weights: have verl save them in HF form."""


class VerlTrainer:
    """GRPO with verl on the round's verl export."""

    export = "verl"

    @classmethod
    def check(cls, config: LoopConfig) -> None:
        """verl needs the SFT checkpoint to start from."""
        if config.training.model is None:
            raise ValueError("trainer verl needs training.model (the SFT checkpoint)")

    def train(self, request: TrainRequest) -> TrainResult:
        """Render, check and run the GRPO command (or only render and check: dry run)."""
        from trainer_adapters.verl.launch import prepare, run_plan

        # composes the overrides into verl's own config: a bad one fails here, before GPU work
        launch, _ = prepare(launch_request(request))
        details = {"command": launch.shell(), "run": launch.run}
        if request.settings.dry_run:
            return TrainResult(status="dry-run", details=details)
        code = run_plan(launch)
        if code != 0:
            raise TaskforgeError(
                f"round {request.round}: training exited with {code}: {launch.shell()}"
            )
        rollouts = [("verl", str(launch.run["rollout_data_dir"]))]
        checkpoint = latest_hf_checkpoint(request.run_dir)
        return TrainResult("done", checkpoint=checkpoint, rollouts=rollouts, details=details)


def latest_hf_checkpoint(run_dir: Path) -> str | None:
    """verl's last saved actor in Hugging Face form (``global_step_N/actor/huggingface``)."""
    latest = run_dir / "checkpoints" / "latest_checkpointed_iteration.txt"
    if not latest.exists():
        return None
    step = latest.read_text().strip()
    path = run_dir / "checkpoints" / f"global_step_{step}" / "actor" / "huggingface"
    return str(path) if (path / "config.json").exists() else None


def launch_request(request: TrainRequest) -> LaunchRequest:
    """RAFT: every round from the SFT checkpoint; on-policy: from the last round's checkpoint."""
    from trainer_adapters.verl.launch import LaunchRequest

    settings = request.settings
    model = settings.model or ""  # check() requires it
    extra = list(settings.extra)
    if request.mode == "on-policy":
        extra.append(SAVE_HF_MODEL)
        model = request.init_checkpoint or model
    return LaunchRequest(
        exports=[request.exports["verl"]], model=model, run_dir=request.run_dir,
        mode=request.mode, round=request.round, user_config=request.llm_config,
        gpus=settings.gpus, rollout_n=settings.rollout_n, batch_size=settings.batch_size,
        epochs=settings.epochs, extra=extra,
    )  # fmt: skip
