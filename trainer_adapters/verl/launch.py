"""Launch GRPO training on exported task pools: ``python -m trainer_adapters.verl.launch``.

Renders the full ``python -m verl.trainer.main_ppo ...`` command (GRPO, vLLM rollouts, the
taskforge agent loop and tools, multi-turn limits, the reward function with the export's spec,
rollout dumps), writes the run's agent-loop YAML and ``run.json`` into the run folder, and runs
it. ``--dry-run`` stops after checking the command against verl's own config: every override
is composed into ``verl/trainer/config/ppo_trainer.yaml`` with Hydra's compose API (an unknown
key fails with a message naming it), verl's ``validate_config`` runs, and the tool config,
agent loop and reward function are loaded as verl would load them. No GPU is needed for that.

Modes (RAFT and SENTINEL-style on-policy training):

* ``raft``: ``--model`` is the SFT checkpoint, every round; the train files are the union of
  every ``--export`` given (one folder per round's pool).
* ``on-policy``: ``--model`` is the previous round's checkpoint; the train files are the last
  ``--export``'s only.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shlex
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from taskforge.errors import DataError, TaskforgeError
from trainer_adapters.verl.configs import agent_loop_config, dump_yaml
from trainer_adapters.verl.export import FILES, read_export
from trainer_adapters.verl.inputs import AGENT_NAME

MODES = ("raft", "on-policy")
ENTRY = "verl.trainer.main_ppo"
REWARD_FILE = Path(__file__).resolve().parent / "reward.py"


@dataclass
class LaunchRequest:
    """A training run as the command line states it."""

    exports: list[Path]
    model: str
    run_dir: Path
    mode: str = "raft"
    round: int | None = None
    user_config: Path | None = None
    experiment: str | None = None
    project: str = "taskforge"
    gpus: int = 8
    nnodes: int = 1
    rollout_n: int = 8
    batch_size: int = 32
    mini_batch_size: int | None = None
    epochs: int = 3
    lr: float = 1e-6
    max_prompt_length: int = 8192
    max_response_length: int = 8192
    max_assistant_turns: int = 30
    max_user_turns: int = 60
    max_parallel_calls: int = 4
    max_tool_response_length: int = 8192
    tensor_parallel: int = 1
    gpu_memory_utilization: float = 0.6
    extra: list[str] = field(default_factory=list)


@dataclass
class LaunchPlan:
    """The rendered run: overrides, command and the files it needs."""

    overrides: list[str]
    command: list[str]
    files: dict[Path, str]
    run: dict[str, Any]

    def shell(self) -> str:
        """The command as one shell line."""
        return " ".join(shlex.quote(part) for part in self.command)


def _list(paths: list[Path]) -> str:
    return "[" + ",".join(str(p) for p in paths) + "]"


def plan(request: LaunchRequest) -> LaunchPlan:
    """Render the run (no verl import, nothing written)."""
    if request.mode not in MODES:
        raise DataError(f"launch: field mode: expected one of {', '.join(MODES)}")
    if not request.exports:
        raise DataError("launch: field export: give at least one export folder")
    manifests = [read_export(folder) for folder in request.exports]
    used = request.exports if request.mode == "raft" else request.exports[-1:]
    last, last_manifest = request.exports[-1].resolve(), manifests[-1]
    round_ = request.round if request.round is not None else last_manifest.pool.round
    experiment = request.experiment or f"{last.name}-{request.mode}" + (
        f"-round{round_}" if round_ is not None else ""
    )
    run_dir = request.run_dir.resolve()
    spec_path = last / FILES["spec"]
    loop_yaml = run_dir / "agent_loop.yaml"
    user_config = request.user_config or _path(last_manifest.extra.get("user_config"))
    loop = agent_loop_config(
        user_config=user_config,
        reward_spec=spec_path,
        round=round_,
        mode=request.mode,
    )
    overrides = _overrides(request, used, last, spec_path, loop_yaml, experiment, run_dir)
    run = {
        "experiment": experiment,
        "project": request.project,
        "mode": request.mode,
        "round": round_,
        "model": request.model,
        "exports": [str(p.resolve()) for p in request.exports],
        "train_files": [str(p.resolve() / FILES["train"]) for p in used],
        "val_files": [
            str(p.resolve() / FILES["val"]) for p in used if (p / FILES["val"]).is_file()
        ],
        "pool": last_manifest.pool.name,
        "reward_spec": last_manifest.extra.get("reward_spec"),
        "rollout_data_dir": str(run_dir / "rollout_data"),
        "validation_data_dir": str(run_dir / "validation_data"),
    }
    return LaunchPlan(
        overrides=overrides,
        command=["python3", "-m", ENTRY, *overrides],
        files={
            loop_yaml: dump_yaml(loop),
            run_dir / "run.json": json.dumps(run, indent=2) + "\n",
        },
        run=run,
    )


def _path(value: Any) -> Path | None:
    return Path(value) if value else None


def _overrides(
    request: LaunchRequest,
    used: list[Path],
    last: Path,
    spec_path: Path,
    loop_yaml: Path,
    experiment: str,
    run_dir: Path,
) -> list[str]:
    train = [p.resolve() / FILES["train"] for p in used]
    val = [v for v in (p.resolve() / FILES["val"] for p in used) if v.is_file()]
    mini = request.mini_batch_size or request.batch_size
    rollout = "actor_rollout_ref.rollout"
    no_val = [] if val else ["trainer.val_before_train=False", "trainer.test_freq=-1"]
    return [
        "algorithm.adv_estimator=grpo",
        "algorithm.use_kl_in_reward=False",
        f"data.train_files={_list(train)}",
        f"data.val_files={_list(val or train)}",
        f"data.train_batch_size={request.batch_size}",
        f"data.max_prompt_length={request.max_prompt_length}",
        f"data.max_response_length={request.max_response_length}",
        "data.filter_overlong_prompts=True",
        "data.truncation=error",
        "data.return_raw_chat=True",
        f"actor_rollout_ref.model.path={request.model}",
        "actor_rollout_ref.model.enable_gradient_checkpointing=True",
        f"actor_rollout_ref.actor.optim.lr={request.lr}",
        f"actor_rollout_ref.actor.ppo_mini_batch_size={mini}",
        "actor_rollout_ref.actor.ppo_micro_batch_size_per_gpu=1",
        "actor_rollout_ref.actor.use_kl_loss=True",
        "actor_rollout_ref.actor.kl_loss_coef=0.001",
        "actor_rollout_ref.actor.kl_loss_type=low_var_kl",
        "actor_rollout_ref.actor.entropy_coeff=0",
        "actor_rollout_ref.ref.log_prob_micro_batch_size_per_gpu=1",
        f"{rollout}.name=vllm",
        f"{rollout}.mode=async",
        f"{rollout}.n={request.rollout_n}",
        f"{rollout}.tensor_model_parallel_size={request.tensor_parallel}",
        f"{rollout}.gpu_memory_utilization={request.gpu_memory_utilization}",
        f"{rollout}.log_prob_micro_batch_size_per_gpu=1",
        f"{rollout}.multi_turn.enable=True",
        f"{rollout}.multi_turn.format=hermes",
        f"{rollout}.multi_turn.max_assistant_turns={request.max_assistant_turns}",
        f"{rollout}.multi_turn.max_user_turns={request.max_user_turns}",
        f"{rollout}.multi_turn.max_parallel_calls={request.max_parallel_calls}",
        f"{rollout}.multi_turn.max_tool_response_length={request.max_tool_response_length}",
        f"{rollout}.multi_turn.tool_config_path={last / FILES['tools']}",
        f"{rollout}.agent.agent_loop_config_path={loop_yaml}",
        f"{rollout}.agent.default_agent_loop={AGENT_NAME}",
        f"reward.custom_reward_function.path={REWARD_FILE}",
        "reward.custom_reward_function.name=compute_score",
        f"+reward.custom_reward_function.reward_kwargs.spec={spec_path}",
        f"trainer.project_name={request.project}",
        f"trainer.experiment_name={experiment}",
        f"trainer.n_gpus_per_node={request.gpus}",
        f"trainer.nnodes={request.nnodes}",
        f"trainer.total_epochs={request.epochs}",
        "trainer.logger=[console]",
        f"trainer.default_local_dir={run_dir / 'checkpoints'}",
        f"trainer.rollout_data_dir={run_dir / 'rollout_data'}",
        f"trainer.validation_data_dir={run_dir / 'validation_data'}",
        *no_val,
        *request.extra,
    ]


# -- checking against verl's own config --------------------------------------------------------
def verl_config_dir() -> Path:
    """verl's Hydra config folder (found without importing verl)."""
    import importlib.util

    found = importlib.util.find_spec("verl")
    if found is None or not found.submodule_search_locations:
        raise TaskforgeError("launch: verl is not installed (pip install 'taskforge[verl]')")
    return Path(next(iter(found.submodule_search_locations))) / "trainer" / "config"


def compose(overrides: list[str]) -> Any:
    """verl's ppo_trainer config with the overrides, as ``main_ppo`` would compose it.

    Raises:
        DataError: naming the override, when verl's config has no such key or rejects the value.
    """
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    try:
        with initialize_config_dir(config_dir=str(verl_config_dir()), version_base=None):
            return hydra_compose(config_name="ppo_trainer", overrides=overrides)
    except (HydraException, OmegaConfBaseException) as exc:
        raise DataError(f"verl config: {_first_line(exc, overrides)}") from exc


def _first_line(exc: BaseException, overrides: list[str]) -> str:
    cause = exc.__cause__
    text = " ".join(f"{exc} {cause.args[0] if cause is not None and cause.args else ''}".split())
    for override in overrides:
        key = override.lstrip("+~").split("=", 1)[0]
        if f"'{key}'" in text:
            return f"override {override!r} rejected: {text}"
    return text


def check(plan_: LaunchPlan) -> dict[str, Any]:
    """Compose and validate the run's config, then load its tools, agent loop and reward."""
    config = compose(plan_.overrides)
    from verl.trainer.ppo.utils import need_critic, need_reference_policy
    from verl.utils.config import validate_config

    try:
        validate_config(config, need_reference_policy(config), need_critic(config))
    except (AssertionError, ValueError) as exc:
        raise DataError(f"verl config: validate_config rejected the run: {exc}") from exc
    return {"config": config, **_load_components(config, plan_)}


def _load_components(config: Any, plan_: LaunchPlan) -> dict[str, Any]:
    """Load what verl's workers will load: the tools, the agent loop class, the reward function."""
    import hydra.utils
    import yaml
    from verl.tools.tool_registry import initialize_tools_from_config
    from verl.utils.import_utils import load_extern_object

    rollout = config.actor_rollout_ref.rollout
    tools = initialize_tools_from_config(rollout.multi_turn.tool_config_path)
    loops: list[dict[str, Any]] = yaml.safe_load(
        plan_.files[Path(rollout.agent.agent_loop_config_path)]
    )
    loop_classes = [hydra.utils.get_class(str(entry["_target_"])) for entry in loops]
    reward = config.reward.custom_reward_function
    reward_fn = load_extern_object(module_path=reward.path, object_name=reward.name)
    return {
        "tools": [t.name for t in tools],
        "agent_loops": [c.__qualname__ for c in loop_classes],
        "reward_function": getattr(reward_fn, "__name__", str(reward_fn)),
    }


# -- command line --------------------------------------------------------------------------------
def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m trainer_adapters.verl.launch", description=__doc__)
    p.formatter_class = argparse.RawDescriptionHelpFormatter
    p.add_argument(
        "--export",
        action="append",
        type=Path,
        required=True,
        dest="exports",
        help="export folder (taskforge export verl); repeat for the union (raft)",
    )
    p.add_argument("--model", required=True, help="SFT checkpoint (raft) or previous round's")
    p.add_argument("--mode", choices=MODES, default="raft")
    p.add_argument("--run-dir", type=Path, required=True, help="checkpoints, dumps, episodes")
    p.add_argument("--round", type=int, default=None, help="loop round (default: the export's)")
    p.add_argument("--user-config", type=Path, default=None, help="taskforge LLM config (user)")
    p.add_argument("--experiment", default=None)
    p.add_argument("--project", default="taskforge")
    for name, default in (
        ("gpus", 8),
        ("nnodes", 1),
        ("rollout-n", 8),
        ("batch-size", 32),
        ("epochs", 3),
        ("max-prompt-length", 8192),
        ("max-response-length", 8192),
        ("max-assistant-turns", 30),
        ("max-user-turns", 60),
        ("max-parallel-calls", 4),
        ("tensor-parallel", 1),
    ):
        p.add_argument(f"--{name}", type=int, default=default)
    p.add_argument("--lr", type=float, default=1e-6)
    p.add_argument(
        "--set",
        action="append",
        default=[],
        dest="extra",
        metavar="KEY=VALUE",
        help="any other verl override (checked like the rest)",
    )
    p.add_argument("--dry-run", action="store_true", help="render and check; do not train")
    p.add_argument("--json", action="store_true", help="print the plan as JSON")
    return p


def _request(args: argparse.Namespace) -> LaunchRequest:
    return LaunchRequest(
        exports=args.exports, model=args.model, run_dir=args.run_dir, mode=args.mode,
        round=args.round, user_config=args.user_config, experiment=args.experiment,
        project=args.project, gpus=args.gpus, nnodes=args.nnodes, rollout_n=args.rollout_n,
        batch_size=args.batch_size, epochs=args.epochs, lr=args.lr,
        max_prompt_length=args.max_prompt_length, max_response_length=args.max_response_length,
        max_assistant_turns=args.max_assistant_turns, max_user_turns=args.max_user_turns,
        max_parallel_calls=args.max_parallel_calls, tensor_parallel=args.tensor_parallel,
        extra=args.extra,
    )  # fmt: skip


def write_files(plan_: LaunchPlan) -> None:
    """Write the files the run needs (its agent-loop YAML and run.json)."""
    from taskforge.contracts.io import write_atomic

    for path, text in plan_.files.items():
        write_atomic(path, text)


def prepare(request: LaunchRequest) -> tuple[LaunchPlan, dict[str, Any]]:
    """Render the run, write its files, and check it against verl's own config."""
    plan_ = plan(request)
    write_files(plan_)
    with contextlib.redirect_stdout(sys.stderr):  # verl prints its checks; stdout is ours
        checked = check(plan_)
    return plan_, checked


def main(argv: list[str] | None = None) -> int:
    """Render, check, and (without --dry-run) run the training command."""
    args = _parser().parse_args(argv)
    try:
        plan_, checked = prepare(_request(args))
    except TaskforgeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    summary = {"command": plan_.shell(), "overrides": plan_.overrides, "run": plan_.run,
               "checked": {k: v for k, v in checked.items() if k != "config"}}  # fmt: skip
    print(json.dumps(summary, indent=2) if args.json else plan_.shell())
    if args.dry_run:
        print("dry run: the command composes into verl's config and validates", file=sys.stderr)
        return 0
    return run_plan(plan_)


def run_plan(plan_: LaunchPlan) -> int:
    """Run the training command with this interpreter; its exit code."""
    return subprocess.call([sys.executable, *plan_.command[1:]])


if __name__ == "__main__":
    sys.exit(main())
