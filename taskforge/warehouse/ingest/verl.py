"""verl training rollouts: the taskforge agent loop's episodes and verl's own rollout dumps.

A training run launched by ``trainer_adapters.verl.launch`` leaves, under its
``trainer.rollout_data_dir``:

* ``episodes/step-<N>/*.jsonl`` (``val-step-<N>`` for validation): the agent loop's JSONL, one
  :class:`~taskforge.contracts.VerlEpisode` per line: the whole episode, its task, the step;
* ``<N>.jsonl``: verl's dump of step N (decoded prompt and response text, the task id as
  ``gts``, the trainer's score), plus ``run.json`` one folder up (written by the launch script).

Every episode becomes a trajectory of the run of its (project, experiment, split, step), with
its rollout sample as the trial, so pass^k per step comes out of the usual views; the training
context (step, weights versions, verl's sample id, the spec's reward) is kept in the
trajectory's ``info.verl``. Lines of a dump whose step has agent-loop episodes are the same
rollouts and are skipped; other dump lines (a run with another agent loop) land as text-only
trajectories (the prompt as one user message, the response as one assistant message, no
tau2 evaluation), their tasks read from the parquet files ``run.json`` names.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pyarrow.parquet as pq
from pydantic import ValidationError

from taskforge.contracts import Message, Run, Task, TerminationReason, Trajectory, VerlEpisode
from taskforge.contracts.verl import episode_folder
from taskforge.errors import DataError, describe_validation_error
from taskforge.warehouse.ingest.base import BadRecord, Batch, files_under
from taskforge.warehouse.keys import content_key, file_hash

RUN_FILE = "run.json"
EPISODES = "episodes"
EPISODE_TYPE = "verl_episode"
DUMP_KEYS = frozenset({"input", "output", "gts", "score", "step"})


def run_id(project: Any, experiment: Any, split: str, step: int | None) -> str:
    """The run of one training (or validation) step."""
    return content_key("verl", project, experiment, split, step)


class VerlAdapter:
    """Reads agent-loop episode files and verl rollout dumps."""

    name = "verl"

    def files(self, path: Path) -> list[Path]:
        """The file, or every JSONL file under the folder (sorted)."""
        return files_under(
            path,
            lambda p: (
                p.name.endswith(".jsonl") and not any(part.startswith(".") for part in p.parts)
            ),
        )

    def content_hash(self, path: Path) -> str:
        """Hash of the file's complete lines (a line still being written is not counted)."""
        return file_hash(_complete(path.read_bytes()))

    def parse(self, path: Path, skip_bad: bool) -> Batch:
        """Episodes or a dump, by the file's first line."""
        data = _complete(path.read_bytes())
        batch = Batch(path=path, content_hash=file_hash(data), skip_bad=skip_bad)
        lines = [(n, line) for n, line in enumerate(data.splitlines(), start=1) if line.strip()]
        if not lines:
            return batch
        first = _loads(path, *lines[0])
        if isinstance(first, dict) and first.get("type") == EPISODE_TYPE:
            _Episodes(batch).add(lines)
        elif isinstance(first, dict) and set(first) >= DUMP_KEYS:
            _Dump(batch).add(lines)
        else:
            raise DataError(
                f"{path}: line {lines[0][0]}: neither an agent-loop episode (type "
                f"{EPISODE_TYPE!r}) nor a verl rollout dump line ({', '.join(sorted(DUMP_KEYS))})"
            )
        return batch


def _complete(data: bytes) -> bytes:
    """The file's complete lines: a last line without its newline is still being written."""
    return data if data.endswith(b"\n") or not data else data[: data.rfind(b"\n") + 1]


def _loads(path: Path, number: int, line: bytes) -> Any:
    try:
        return orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        raise DataError(f"{path}: line {number}: not valid JSON ({exc})") from exc


def _bad(batch: Batch, number: int, reason: str, raw: Any) -> None:
    if not batch.skip_bad:
        raise DataError(reason)
    batch.bad.append(BadRecord(number, None, reason, raw))


def _domain(data_source: str | None) -> str:
    source = data_source or ""
    return source.split("/", 1)[1] if source.startswith("taskforge/") else "retail"


def _run(
    project: Any, experiment: Any, split: str, step: int | None, round_: int | None, **more: Any
) -> Run:
    config = {"project": project, "experiment": experiment, "split": split, "step": step}
    return Run(
        run_id=run_id(project, experiment, split, step),
        source="verl",
        agent_model=more.pop("model", None),
        user_model=more.pop("user_model", None),
        domain=more.pop("domain", "retail"),
        round=round_,
        config=config | {k: v for k, v in more.items() if v is not None},
    )


class _Batcher:
    """Adds runs and tasks to a batch once each."""

    def __init__(self, batch: Batch) -> None:
        self.batch = batch
        self.runs: set[str] = set()
        self.tasks: set[tuple[str, str]] = set()

    def run(self, run: Run) -> str:
        if run.run_id not in self.runs:
            self.runs.add(run.run_id)
            self.batch.runs.append(run)
        return run.run_id

    def task(self, rid: str, task: Task) -> None:
        if (rid, task.id) not in self.tasks:
            self.tasks.add((rid, task.id))
            self.batch.tasks.append((rid, task))


class _Episodes(_Batcher):
    """Lines of the agent loop's JSONL."""

    def add(self, lines: list[tuple[int, bytes]]) -> None:
        for number, line in lines:
            raw = _loads(self.batch.path, number, line)
            try:
                record = VerlEpisode.model_validate(raw)
            except ValidationError as exc:
                reason = describe_validation_error(str(self.batch.path), exc, f"line {number}")
                _bad(self.batch, number, reason, raw)
                continue
            self._episode(record, raw["trajectory"])

    def _episode(self, record: VerlEpisode, trajectory: dict[str, Any]) -> None:
        rid = self.run(
            _run(
                record.project,
                record.experiment,
                record.split,
                record.step,
                record.round,
                model=record.model,
                user_model=record.user_model,
                domain=_domain(record.data_source),
                mode=record.mode,
                reward_spec=record.reward_spec,
                reward_spec_hash=record.reward_spec_hash,
            )
        )
        self.task(rid, record.task)
        context = {
            "step": record.step,
            "split": record.split,
            "uid": record.uid,
            "session": record.session,
            "weights_step_min": record.weights_step_min,
            "weights_step_max": record.weights_step_max,
            "reward": record.reward,
            "source": "agent_loop",
        }
        raw = dict(trajectory)
        raw["info"] = {**(raw.get("info") or {}), "verl": context}
        if record.session is not None:
            raw["trial"] = record.session
        self.batch.trajectories.append((rid, raw))


class _Dump(_Batcher):
    """Lines of a verl rollout dump (``<rollout_data_dir>/<step>.jsonl``)."""

    def add(self, lines: list[tuple[int, bytes]]) -> None:
        path = self.batch.path
        run_info, folder = _run_info(path)
        split = "val" if folder == "validation_data_dir" else "train"
        episodes = Path(run_info.get("rollout_data_dir") or path.parent) / EPISODES
        tasks: dict[str, Task] | None = None
        for number, line in lines:
            raw = _loads(path, number, line)
            step = raw.get("step") if isinstance(raw, dict) else None
            if _covered(episodes, split, step):
                continue  # the agent loop recorded these rollouts in full
            tasks = tasks if tasks is not None else _tasks(path, run_info)
            self._line(number, raw, split, run_info, tasks)

    def _line(
        self,
        number: int,
        raw: Any,
        split: str,
        info: dict[str, Any],
        tasks: dict[str, Task],
    ) -> None:
        path = self.batch.path
        if not isinstance(raw, dict) or not set(raw) >= DUMP_KEYS:
            reason = f"{path}: line {number}: expected the keys {', '.join(sorted(DUMP_KEYS))}"
            return _bad(self.batch, number, reason, raw)
        task = tasks.get(str(raw["gts"]))
        if task is None:
            reason = (
                f"{path}: line {number}: field gts: task {raw['gts']!r} is in no train/val file"
            )
            return _bad(self.batch, number, reason, raw)
        rid = self.run(
            _run(
                info.get("project"),
                info.get("experiment"),
                split,
                int(raw["step"]),
                info.get("round"),
                model=info.get("model"),
                mode=info.get("mode"),
                reward_spec=(info.get("reward_spec") or {}).get("name"),
                reward_spec_hash=(info.get("reward_spec") or {}).get("hash"),
            )
        )
        self.task(rid, task)
        self.batch.trajectories.append((rid, _dump_trajectory(number, raw, rid, task.id, split)))
        return None


def _dump_trajectory(
    number: int, raw: dict[str, Any], rid: str, task_id: str, split: str
) -> dict[str, Any]:
    extra = {k: v for k, v in raw.items() if k not in {"input", "output", "gts"}}
    uid = raw.get("uid")
    trajectory = Trajectory(
        id=f"{rid}:{uid if uid is not None else number}",
        task_id=task_id,
        termination_reason=TerminationReason.AGENT_STOP,
        messages=[
            Message(role="user", content=str(raw["input"])),
            Message(role="assistant", content=str(raw["output"])),
        ],
        info={
            "verl": extra | {"source": "rollout_dump", "split": split},
            "note": "text-only: verl's dump holds decoded text, not turns, and no termination "
            "reason (recorded as agent_stop); the trainer's score is info.verl.score",
        },
    )
    return trajectory.model_dump(mode="json", exclude_none=True)


def _run_info(path: Path) -> tuple[dict[str, Any], str | None]:
    """The launch script's run.json for a dump, and which of its folders holds the dump."""
    for folder in (path.parent, path.parent.parent):
        candidate = folder / RUN_FILE
        if candidate.is_file():
            info = _loads(candidate, 1, candidate.read_bytes())
            if not isinstance(info, dict):
                raise DataError(f"{candidate}: expected a JSON object")
            where = next(
                (k for k in ("rollout_data_dir", "validation_data_dir")
                 if info.get(k) and Path(info[k]).resolve() == path.parent.resolve()),
                None,
            )  # fmt: skip
            return info, where
    raise DataError(
        f"{path}: no {RUN_FILE} in its folder or the one above (the launch script writes it); "
        "without it the dump's task ids cannot be resolved"
    )


def _covered(episodes: Path, split: str, step: Any) -> bool:
    folder = episodes / episode_folder(split, int(step) if step is not None else None)
    return folder.is_dir() and any(folder.glob("*.jsonl"))


def _tasks(path: Path, info: dict[str, Any]) -> dict[str, Task]:
    """Tasks of the run's train and validation files, by id."""
    tasks: dict[str, Task] = {}
    for name in [*info.get("train_files", []), *info.get("val_files", [])]:
        try:
            column = pq.read_table(name, columns=["extra_info"]).column("extra_info")
        except (OSError, KeyError) as exc:
            raise DataError(f"{path}: {RUN_FILE}: cannot read the rows of {name} ({exc})") from exc
        for extra in column.to_pylist():
            task = Task.model_validate(orjson.loads(extra["task"]))
            tasks.setdefault(task.id, task)
    return tasks


__all__ = ["VerlAdapter", "run_id"]
