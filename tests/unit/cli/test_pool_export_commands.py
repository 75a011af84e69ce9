"""`taskforge pool` and `taskforge export` as a user runs them: JSON out, one-line errors."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from taskforge.cli.app import app
from taskforge.contracts import Task
from taskforge.contracts.io import write_tasks
from tests.unit.pool.conftest import targeted  # noqa: F401  (certified targeted tasks)

runner = CliRunner()


def _run(*args: str) -> tuple[int, str, str]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(sys, "argv", ["taskforge", *args])  # the command line the manifest records
        result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def files(tmp_path: Path, targeted: list[Task]) -> tuple[Path, Path]:  # noqa: F811
    write_tasks(tmp_path / "r1.json", targeted[:6])
    write_tasks(tmp_path / "r2.json", targeted[6:])
    return tmp_path / "r1.json", tmp_path / "r2.json"


def test_pool_add_show_list_and_export(tmp_path: Path, files: tuple[Path, Path]) -> None:
    wh = str(tmp_path / "w.duckdb")
    r1, r2 = (str(f) for f in files)
    code, out, _ = _run("pool", "add", "--name", "p", "--round", "1", "--tasks", r1,
                        "--warehouse", wh, "--json")  # fmt: skip
    assert code == 0
    first = json.loads(out)
    assert first["n_active"] == 6 and first["rows_added"] == {"tasks": 6, "task_pools": 6,
                                                              "pool_rounds": 1}  # fmt: skip
    code, out, _ = _run("pool", "add", "--name", "p", "--round", "1", "--tasks", r1,
                        "--warehouse", wh, "--json")  # fmt: skip
    assert code == 0 and json.loads(out)["rows_added"] == {}
    code, _, _ = _run("pool", "add", "--name", "p", "--round", "2", "--tasks", r2,
                      "--mode", "raft-union", "--quota", "*=1", "--warehouse", wh)  # fmt: skip
    assert code == 0
    code, out, _ = _run("pool", "show", "--name", "p", "--union", "--warehouse", wh, "--json")
    shown = json.loads(out)
    assert code == 0 and shown["pool"]["mode"] == "raft-union"
    assert shown["summary"]["by_round"] and shown["pool"]["curriculum"]["quotas"] == {"*": 1}
    code, out, _ = _run("pool", "list", "--warehouse", wh, "--json")
    assert code == 0 and [(r["round"], r["mode"]) for r in json.loads(out)] == [
        (1, "on-policy"),
        (2, "raft-union"),
    ]
    code, out, _ = _run("export", "hf", "--pool", "p", "--out", str(tmp_path / "hf"),
                        "--warehouse", wh, "--json")  # fmt: skip
    summary = json.loads(out)
    assert code == 0 and summary["mode"] == "raft-union"  # the round's mode: the union
    assert summary["n_tasks"] == shown["summary"]["n_active"]
    manifest = json.loads((tmp_path / "hf" / "taskforge_export.json").read_text())
    assert manifest["command"].startswith("taskforge export hf --pool p")
    code, out, _ = _run("export", "tau2", "--pool", "p", "--round-only", "--out",
                        str(tmp_path / "t"), "--warehouse", wh, "--json")  # fmt: skip
    assert code == 0 and json.loads(out)["mode"] == "raft-union"
    assert json.loads(out)["splits"]["base"] == json.loads(out)["n_tasks"]


def test_export_from_a_tasks_file_needs_no_warehouse(
    tmp_path: Path, files: tuple[Path, Path]
) -> None:
    code, out, _ = _run("export", "tau2", "--tasks", str(files[0]), "--out", str(tmp_path / "t"),
                        "--split", "train=0.5", "--split", "test=0.5", "--json")  # fmt: skip
    assert code == 0
    summary = json.loads(out)
    assert summary["n_tasks"] == 6 and summary["pool"] == "r1"
    assert not (tmp_path / "taskforge.duckdb").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["export", "hf", "--out", "x"], "give exactly one of --pool"),
        (["export", "hf", "--pool", "nope", "--out", "x"], "no pool 'nope'"),
        (["export", "tau2", "--tasks", "{r1}", "--out", "x", "--split", "train"], "NAME=FRACTION"),
        (["pool", "add", "--name", "p", "--round", "1", "--tasks", "{r1}", "--quota", "x"],
         "PATTERN=N"),
        (["pool", "add", "--name", "p", "--round", "1", "--tasks", "{r1}", "--band", "0.9",
          "0.1"], "pass_band"),
    ],
)  # fmt: skip
def test_bad_input_is_one_line_and_exit_2(
    tmp_path: Path,
    files: tuple[Path, Path],
    args: list[str],
    message: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    wh = tmp_path / "w.duckdb"
    _run("pool", "add", "--name", "p", "--round", "1", "--tasks", str(files[0]),
         "--warehouse", str(wh))  # fmt: skip
    argv = [a.format(r1=files[0]) for a in args] + ["--warehouse", str(wh)]
    if argv[0] == "export" and "--tasks" in argv:
        argv = argv[:-2]
    code, _, err = _run(*argv)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err


def test_export_finds_the_db_the_tasks_were_certified_on(tmp_path: Path) -> None:
    from taskforge.domains import get_domain
    from taskforge.domains.retail.generate import generate_db, write_db

    db_file = tmp_path / "other_db.json"
    write_db(generate_db(3, 40, 80, 12), db_file)
    tasks = tmp_path / "t.json"
    code, _, err = _run("synthesize", "--family", "multi_order", "--n", "3", "--db", str(db_file),
                        "--out", str(tasks), "--embedder", "hashing", "--json")  # fmt: skip
    assert code == 0, err
    code, out, err = _run("export", "hf", "--tasks", str(tasks), "--out", str(tmp_path / "hf"),
                          "--json")  # fmt: skip
    assert code == 0, err
    assert json.loads(out)["n_tasks"] >= 1
    retail = get_domain("retail")
    assert retail.load_db(tmp_path / "hf" / "db.json").hash == retail.load_db(db_file).hash
    db_file.write_text(db_file.read_text().replace('"zip": "', '"zip": "9', 1))
    code, _, err = _run("export", "hf", "--tasks", str(tasks), "--out", str(tmp_path / "hf2"))
    assert code == 2
    line = err.strip().splitlines()[-1]
    assert f"pass --db {db_file.resolve()}" in line and "now differs" in line
