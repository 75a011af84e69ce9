"""Every command: a one-line help, an example epilog that parses, and a clean ``--json`` path.

The ``--json`` test runs each command that works offline in a few seconds on small real inputs
(the bundled seed tasks and DB, a tiny scripted rollout's warehouse) and checks that stdout is
JSON and nothing else. Commands too slow or needing a model are in ``SKIPPED``, with the reason;
a command in neither fails ``test_every_command_is_exercised_or_skipped``.
"""

from __future__ import annotations

import json
import shlex
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from taskforge.cli.app import app
from taskforge.contracts import Task, Tau2Results, Trajectory, VerlEpisode
from taskforge.domains import get_domain
from trainer_adapters.verl.episode_log import shard_path

REPO = Path(__file__).resolve().parents[3]
SEEDS = REPO / "datasets" / "retail" / "seed_tasks.json"
runner = CliRunner()

Path_ = tuple[str, ...]


def _walk(cmd: Any, path: Path_ = ()) -> Iterator[tuple[Path_, Any]]:
    """Every leaf command (with its path) and every group (ending with ``None``) under ``cmd``."""
    if hasattr(cmd, "list_commands"):
        yield path, None
        ctx = typer.Context(cmd)
        for name in cmd.list_commands(ctx):
            yield from _walk(cmd.get_command(ctx, name), (*path, name))
    else:
        yield path, cmd


_TREE = list(_walk(typer.main.get_command(app)))
COMMANDS: dict[Path_, Any] = {path: cmd for path, cmd in _TREE if cmd is not None}
GROUPS: list[Path_] = [path for path, cmd in _TREE if cmd is None]

SKIPPED: dict[Path_, str] = {
    ("serve", "local"): "serves a real GGUF model (the local extra) until interrupted",
    ("bench", "train"): "GRPO training of a real model (the local extra, torch): minutes",
    ("bench", "local"): "two real-model rollouts on the local server (the local extra): minutes",
    ("demo",): "two loop rounds, exports and a bench: minutes (--local: a real model)",
    ("loop",): "rollout -> mine -> ... -> ingest rounds: over a minute on the bundled tasks; "
    "tests/integration/test_loop.py runs its --json",
}


def _ids(path: Path_) -> str:
    return " ".join(path) or "taskforge"


def _example(path: Path_) -> list[str]:
    """The epilog's example as argv (without ``taskforge`` and the command's path)."""
    epilog = COMMANDS[path].epilog or ""
    command = epilog.removeprefix("Example: ").split("  (")[0]  # a note may follow in (...)
    argv = shlex.split(command)
    assert argv[: len(path) + 1] == ["taskforge", *path], epilog
    return argv[len(path) + 1 :]


def _squash(text: str) -> str:
    """Help text with rich's box rules and line wrapping undone."""
    return " ".join(text.replace("│", " ").split())


# -- help ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", list(COMMANDS), ids=_ids)
def test_every_command_has_a_one_line_description(path: Path_) -> None:
    first_paragraph = (COMMANDS[path].help or "").strip().split("\n\n")[0]
    assert first_paragraph, f"taskforge {_ids(path)}: no help"
    assert "\n" not in first_paragraph, f"taskforge {_ids(path)}: description is not one line"
    assert first_paragraph.endswith("."), first_paragraph


@pytest.mark.parametrize("path", list(COMMANDS), ids=_ids)
def test_every_epilog_is_an_example_of_the_command_that_parses(path: Path_) -> None:
    cmd = COMMANDS[path]
    assert (cmd.epilog or "").startswith(f"Example: taskforge {_ids(path)} "), cmd.epilog
    # only real options, right types, every required one: parsing raises otherwise
    cmd.make_context(path[-1], _example(path))


@pytest.mark.parametrize("path", list(COMMANDS), ids=_ids)
def test_command_help_exits_0_and_shows_the_example(path: Path_) -> None:
    result = runner.invoke(app, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert _squash(COMMANDS[path].epilog) in _squash(result.stdout)


@pytest.mark.parametrize("group", GROUPS, ids=_ids)
def test_group_help_lists_each_command_with_its_description(group: Path_) -> None:
    result = runner.invoke(app, [*group, "--help"])
    assert result.exit_code == 0, result.output
    shown = _squash(result.stdout)
    children = [p for p in (*COMMANDS, *GROUPS) if len(p) == len(group) + 1 and p[:-1] == group]
    assert children
    for child in children:
        assert f" {child[-1]} " in shown, child
        if child in COMMANDS:
            assert _squash(COMMANDS[child].help.split("\n\n")[0]) in shown, child


# -- --json -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One ``--json`` run: the args ({ws}, {tmp}, {wh}, ... filled in) and a check of the JSON."""

    path: Path_
    args: tuple[str, ...]
    check: Callable[[Any, dict[str, str]], bool]  # the JSON, the values filled in
    stderr: str | None = None  # human text the command must print to stderr instead

    @property
    def id(self) -> str:
        return " ".join(self.path + tuple(a for a in self.args if a.startswith("--")))


def _n_items(path: str) -> int:
    """Length of the JSON list in ``path``."""
    return len(json.loads(Path(path).read_text()))


CASES = [
    Case(("rollout",), ("--tasks", "{seeds}", "--limit", "1", "--trials", "2", "--out",
                        "{tmp}/r", "--warehouse", "{tmp}/new.duckdb"),
         lambda d, _: d["episodes_played"] == 2 and d["n_tasks"] == 1
         and Path(d["shard"]).exists()),
    Case(("sql",), ("SELECT count(*) AS n FROM trajectories", "--warehouse", "{wh}"),
         lambda d, _: d == [{"n": 6}]),
    Case(("sql",), ("--schema", "--warehouse", "{wh}"),
         lambda d, _: {"column": "task_id", "kind": "BASE TABLE", "name": "trajectories",
                       "type": "VARCHAR"} in d),
    Case(("mine",), ("--embedder", "hashing", "--min-cluster-size", "2", "--warehouse", "{wh}"),
         lambda d, _: d["n_failures"] >= 1 and d["version"] == 2),  # the fixture mined v1
    Case(("report",), ("--out", "{tmp}/report.html", "--warehouse", "{wh}"),
         lambda d, _: Path(d["out"]).stat().st_size == d["bytes"] > 0),
    Case(("synthesize",), ("--family", "multi_order", "--n", "2", "--embedder", "hashing",
                           "--out", "{tmp}/t.json"),
         lambda d, _: d["n_accepted"] >= 1 and _n_items(d["out"]) == d["n_accepted"]),
    Case(("verify",), ("{two}", "--out", "{tmp}/ok.json"),
         lambda d, v: d["summary"]["n_tasks"] == 2
         and _n_items(f"{v['tmp']}/ok.json") == d["summary"]["n_accepted"]),
    Case(("tasks", "verify"), ("{two}", "--db", "{db}"), lambda d, _: len(d["tasks"]) == 2),
    Case(("tasks", "audit"), ("{two}", "--db", "{db}"),
         lambda d, _: [t["task_id"] for t in d["tasks"]] == ["seed_000", "seed_001"]),
    Case(("tasks", "seed"), ("--n", "3", "--out", "{tmp}/seed.json"),
         lambda d, _: d["n_tasks"] == 3 == _n_items(d["out"])),
    Case(("db", "generate"), ("--out", "{tmp}/db.json", "--users", "5", "--orders", "8",
                              "--products", "3"),
         lambda d, _: d["users"] == 5 and d["orders"] == 8 and Path(d["out"]).exists()),
    Case(("eval", "tau2-results"), ("{ws}/results.json",),
         lambda d, _: d["summary"]["n"] == 6 == d["summary"]["agree"]),
    Case(("schemas", "generate"), ("--out", "{tmp}/schemas"),
         lambda d, _: d["written"] and all(Path(p).exists() for p in d["written"])),
    Case(("schemas", "generate"), ("--out", "{ws}/schemas", "--check"),
         lambda d, _: d == {"drifted": []}, stderr="schemas are current"),
    Case(("tools", "schemas"), (),
         lambda d, _: {s["function"]["name"] for s in d}
         == set(get_domain("retail").toolkit_cls.specs)),
    Case(("ingest", "jsonl"), ("{shard}", "--warehouse", "{tmp}/i.duckdb"),
         lambda d, _: d["trajectories_new"] == 6 and d["files"] == 1),
    Case(("ingest", "tau2"), ("{ws}/results.json", "--warehouse", "{tmp}/i.duckdb"),
         lambda d, _: d["trajectories_new"] == 6 and d["quarantined"] == 0),
    Case(("ingest", "verl"), ("{ws}/verl", "--warehouse", "{tmp}/i.duckdb"),
         lambda d, _: d["trajectories_new"] == 6 and d["quarantined"] == 0),
    Case(("rewards", "show"), ("--spec", "success-only"),
         lambda d, _: len(d["spec_hash"]) >= 8 and isinstance(d["spec"], dict)),
    Case(("rewards", "probe"), ("--tasks", "{two}"),
         lambda d, _: d["n_tasks"] == 2 and d["rows"] and not d["sparse"]),
    Case(("pool", "add"), ("--name", "q", "--round", "1", "--tasks", "{ws}/targeted.json",
                           "--warehouse", "{wh}"),
         lambda d, v: d["name"] == "q" and d["n_entries"] == _n_items(f"{v['ws']}/targeted.json")),
    Case(("pool", "build"), ("--name", "p", "--round", "1", "--warehouse", "{wh}"),
         lambda d, _: d["name"] == "p" and d["rows_added"] == {}),
    Case(("pool", "show"), ("--name", "p", "--warehouse", "{wh}"),
         lambda d, _: d["summary"]["name"] == "p" and d["pool"]["entries"]),
    Case(("pool", "list"), ("--warehouse", "{wh}"),
         lambda d, _: [(r["pool"], r["round"]) for r in d] == [("p", 1)]),
    Case(("export", "hf"), ("--pool", "p", "--out", "{tmp}/hf", "--warehouse", "{wh}"),
         lambda d, v: d["n_tasks"] == _n_items(f"{v['ws']}/targeted.json")),
    Case(("export", "tau2"), ("--pool", "p", "--out", "{tmp}/tau2", "--warehouse", "{wh}"),
         lambda d, _: d["n_tasks"] >= 1
         and (Path(d["out"]) / "tau2/domains/retail/tasks.json").exists()),
    Case(("export", "tau2-results"), ("--source", "{ws}/results.json", "--out", "{tmp}/back.json",
                                      "--warehouse", "{ws}/tau2.duckdb"),
         lambda d, v: d["n_simulations"] == 6 and d["exact"] and d["same_as_source"] is True),
    Case(("export", "verl"), ("--pool", "p", "--out", "{tmp}/verl", "--warehouse", "{wh}"),
         lambda d, _: d["n_tasks"] >= 1 and "trainer_adapters.verl.launch" in d["launch"]),
    Case(("bench", "env"), ("--tasks", "{two}", "--seconds", "0.1"),
         lambda d, _: d["n_tasks"] == 2 and d["speedup"]["evals"] > 0),
    Case(("bench", "failures"), ("--out", "{tmp}/fb", "--per-mode", "1"),
         lambda d, _: Path(d["path"]).exists() and set(d["per_mode"].values()) == {1}),
    Case(("bench", "mining"), ("--bench", "{ws}/fb/failures.jsonl.gz", "--embedder", "hashing",
                               "--min-cluster-size", "2"),
         lambda d, _: d["n_failures"] >= 1 and "ari" in d["taskforge"]),
    Case(("bench", "synthesis"), ("--n", "1"),
         lambda d, _: d["taskforge"]["candidates"] >= 1 and d["llm"] in (None, {}, [])),
    Case(("bench", "warehouse"), ("--sizes", "50", "--repeat", "1", "--workdir", "{tmp}/bw"),
         lambda d, _: list(d["sizes"]) == ["50"] and d["agree"] is True),
    Case(("export", "parquet"), ("--out", "{tmp}/pq", "--warehouse", "{wh}"),
         lambda d, _: d["tables"]["trajectories"] >= 1
         and (Path(d["out"]) / "trajectories" / "part-0.parquet").exists()),
    Case(("bench", "scale"), ("--tasks", "1", "--trials", "1", "--latency-ms", "1",
                              "--workers", ""),
         lambda d, _: d["local"]["episodes"] == 1 and "ray" not in d),
]  # fmt: skip


def _invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A scripted rollout's warehouse (2 tasks x 3 trials), mined once and holding pool ``p``;
    its shard also as a tau2 results file and as verl episodes; two seed tasks; a failure
    benchmark; generated schemas."""
    ws = tmp_path_factory.mktemp("ws")
    wh = ws / "w.duckdb"
    code, out, err = _invoke(
        *("rollout", "--tasks", str(SEEDS), "--limit", "2", "--trials", "3"),
        *("--out", str(ws / "rollouts"), "--warehouse", str(wh), "--json"),
    )
    assert code == 0, err
    shard = json.loads(out)["shard"]
    tasks, trajectories = [], []
    for line in Path(shard).read_text().splitlines():
        record = json.loads(line)
        if record["type"] == "task":
            tasks.append(Task.model_validate(record["task"]))
        elif record["type"] == "trajectory":
            trajectories.append(Trajectory.model_validate(record["trajectory"]))
    assert len(tasks) == 2 and len(trajectories) == 6
    results = Tau2Results(
        info={"source": "scripted rollout"}, tasks=tasks, simulations=trajectories
    )
    (ws / "results.json").write_text(results.model_dump_json())
    by_id = {t.id: t for t in tasks}
    episodes = shard_path(ws / "verl" / "episodes", "train", 1)
    episodes.parent.mkdir(parents=True)
    records = [VerlEpisode(split="train", step=1, task=by_id[t.task_id], trajectory=t)
               for t in trajectories]  # fmt: skip
    episodes.write_text("".join(r.model_dump_json(exclude_none=True) + "\n" for r in records))
    (ws / "two.json").write_text(json.dumps([t.to_json_dict() for t in tasks]))
    for args in (
        ["mine", "--embedder", "hashing", "--min-cluster-size", "2", "--warehouse", str(wh)],
        ["synthesize", "--family", "multi_order", "--n", "3", "--embedder", "hashing",
         "--out", str(ws / "targeted.json")],
        ["pool", "add", "--name", "p", "--round", "1", "--tasks", str(ws / "targeted.json"),
         "--warehouse", str(wh)],
        ["bench", "failures", "--out", str(ws / "fb"), "--per-mode", "1"],
        ["ingest", "tau2", str(ws / "results.json"), "--warehouse", str(ws / "tau2.duckdb")],
        ["schemas", "generate", "--out", str(ws / "schemas")],
    ):  # fmt: skip
        code, _, err = _invoke(*args)
        assert code == 0, (args, err)
    return {
        "ws": str(ws),
        "shard": shard,
        "two": str(ws / "two.json"),
        "seeds": str(SEEDS),
        "db": str(get_domain("retail").default_db_path),
    }


def test_every_command_is_exercised_or_skipped() -> None:
    exercised = {case.path for case in CASES}
    assert exercised.isdisjoint(SKIPPED)
    assert set(SKIPPED) <= set(COMMANDS), set(SKIPPED) - set(COMMANDS)
    forgotten = set(COMMANDS) - exercised - set(SKIPPED)
    assert not forgotten, f"add a --json case (or a SKIPPED reason) for {sorted(forgotten)}"
    assert all(reason.strip() for reason in SKIPPED.values())


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_json_is_all_of_stdout(case: Case, workspace: dict[str, str], tmp_path: Path) -> None:
    ws = Path(workspace["ws"])
    shutil.copy(ws / "w.duckdb", tmp_path / "w.duckdb")  # each case writes its own copy
    values = {**workspace, "tmp": str(tmp_path), "wh": str(tmp_path / "w.duckdb")}
    args = [a.format(**values) for a in case.args]
    code, out, err = _invoke(*case.path, *args, "--json")
    assert code == 0, err
    data = json.loads(out)  # the whole of stdout: any progress or message there breaks this
    assert out.lstrip()[0] in "[{" and out.endswith("\n")
    assert case.check(data, values), json.dumps(data, default=str)[:2000]
    if case.stderr is not None:
        assert case.stderr in err and case.stderr not in out
