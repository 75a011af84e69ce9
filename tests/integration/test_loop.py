"""`taskforge loop` end to end (offline): stages recorded, lineage kept, kill + rerun resumes."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from taskforge.contracts.io import load_tasks
from taskforge.warehouse import Warehouse

CONFIG = """\
rounds: 1
trials: 2
mining: {embedder: hashing}
synthesis: {embedder: hashing, n_per_pattern: 3}
"""


def _loop(tmp_path: Path, *extra: str) -> subprocess.Popen[str]:
    (tmp_path / "loop.yaml").write_text(CONFIG)
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "taskforge",
            "loop",
            "--config",
            str(tmp_path / "loop.yaml"),
            "--out",
            str(tmp_path / "out"),
            *extra,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ.copy(),
    )


def _counts(tmp_path: Path) -> dict[str, int]:
    with Warehouse.open(tmp_path / "out" / "taskforge.duckdb", read_only=True) as wh:
        return wh.counts()


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    tmp_path = tmp_path_factory.mktemp("loop")
    proc = _loop(tmp_path, "--json")
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err
    return tmp_path, json.loads(out)


def test_every_stage_is_recorded_and_the_round_summarised(finished: tuple[Path, dict]) -> None:
    tmp_path, summary = finished
    counts = _counts(tmp_path)
    assert counts["loop_stages"] == 1 + 9  # round 0's pool, then 9 stages in round 1
    (row,) = summary["rounds"]
    n_seed = len(load_tasks(tmp_path / "out" / "round-00" / "pool_tasks.json"))
    assert row["episodes"] == n_seed * 2 == counts["trajectories"]
    assert row["failures_by_pattern"] and row["train"] == "skipped"
    assert row["pool_size"] == n_seed + row["tasks_added"]


def test_targeted_tasks_carry_round_pattern_and_source_failures(
    finished: tuple[Path, dict],
) -> None:
    tmp_path, _ = finished
    targeted = load_tasks(tmp_path / "out" / "round-01" / "targeted_tasks.json")
    assert targeted, "round 1 produced no targeted tasks"
    with Warehouse.open(tmp_path / "out" / "taskforge.duckdb", read_only=True) as wh:
        failed = set(wh.query("SELECT traj_uid FROM trajectories WHERE reward < 1")["traj_uid"])
        patterns = set(wh.query("SELECT pattern_id FROM patterns")["pattern_id"])
    for task in targeted:
        assert task.certificate is not None and task.lineage is not None
        assert task.lineage.round == 1
        assert task.lineage.pattern_id in patterns
        assert task.lineage.source_failures and set(task.lineage.source_failures) <= failed


def test_rerun_of_a_finished_loop_changes_nothing(finished: tuple[Path, dict]) -> None:
    tmp_path, summary = finished
    before = _counts(tmp_path)
    proc = _loop(tmp_path, "--json")
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err
    assert "already done" in err and _counts(tmp_path) == before
    assert json.loads(out)["rounds"] == summary["rounds"]


def test_killed_loop_resumes_without_duplicates(tmp_path: Path) -> None:
    proc = _loop(tmp_path)
    assert proc.stderr is not None
    for line in proc.stderr:
        if "round 1: synthesize" in line:
            proc.send_signal(signal.SIGKILL)
            break
    proc.wait(timeout=600)
    assert proc.returncode == -signal.SIGKILL
    proc = _loop(tmp_path, "--json")
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err
    assert "round 1: mine (already done)" in err
    counts = _counts(tmp_path)
    row = json.loads(out)["rounds"][0]
    assert counts["trajectories"] == row["episodes"]
    assert counts["taxonomies"] == 1 and counts["loop_stages"] == 10
    with Warehouse.open(tmp_path / "out" / "taskforge.duckdb", read_only=True) as wh:
        assert wh.scalar("SELECT count(*) - count(DISTINCT traj_uid) FROM trajectories") == 0


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="Debian's chromium is not installed (.ci/run installs it)"
)


def _chromium(page: Path, profile: Path, *args: str) -> tuple[str, list[str]]:
    """Load a page headless; stdout and the page's console messages."""
    assert CHROMIUM is not None
    proc = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
         "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0",
         *args, page.as_uri()],
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    return proc.stdout, [line for line in proc.stderr.splitlines() if ":CONSOLE" in line]


@needs_chromium
def test_console_messages_of_a_broken_page_are_caught(tmp_path: Path) -> None:
    page = tmp_path / "broken.html"
    page.write_text("<!DOCTYPE html><html><body><script>missing();</script></body></html>")
    _, console = _chromium(page, tmp_path / "profile", "--dump-dom")
    assert any("missing is not defined" in line for line in console)


@needs_chromium
def test_report_loads_in_headless_chromium_with_taxonomy_and_rounds(
    finished: tuple[Path, dict], tmp_path: Path
) -> None:
    loop_dir, summary = finished
    report = tmp_path / "report.html"
    subprocess.run(
        [sys.executable, "-m", "taskforge", "report", "--warehouse",
         str(loop_dir / "out" / "taskforge.duckdb"), "--out", str(report)],
        check=True, capture_output=True,
    )  # fmt: skip
    dom, console = _chromium(report, tmp_path / "profile", "--dump-dom")
    assert console == []
    rounds = dom.split('<section id="rounds">')[1].split("</section>")[0]
    assert "pass^k per loop round" in rounds and summary["loop_id"] in rounds
    taxonomy = dom.split('<section id="taxonomy">')[1].split("</section>")[0]
    for name in summary["rounds"][0]["failures_by_pattern"]:
        assert name in taxonomy
    shot = tmp_path / "report.png"
    _, console = _chromium(
        report, tmp_path / "profile", f"--screenshot={shot}", "--window-size=1280,2400"
    )
    assert console == [] and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert shot.stat().st_size > 20_000  # a blank page is a few KB


def test_trainer_verl_dry_run_renders_and_checks_the_grpo_command(tmp_path: Path) -> None:
    pytest.importorskip("verl.trainer.main_ppo", reason="the verl extra is not installed")
    config = tmp_path / "loop.yaml"
    config.write_text(
        CONFIG + "mode: on-policy\ntrainer: verl\n"
        "training: {model: Qwen/Qwen3-4B, dry_run: true, gpus: 8}\n"
    )
    proc = subprocess.run(
        [sys.executable, "-m", "taskforge", "loop", "--config", str(config),
         "--out", str(tmp_path / "out"), "--json"],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    with Warehouse.open(tmp_path / "out" / "taskforge.duckdb", read_only=True) as wh:
        train = json.loads(wh.scalar("SELECT outputs FROM loop_stages WHERE stage = 'train'"))
        ingest = json.loads(wh.scalar("SELECT outputs FROM loop_stages WHERE stage = 'ingest'"))
    assert train["status"] == "dry-run" and ingest["status"] == "skipped"
    command = train["command"]
    export = tmp_path / "out" / "round-01" / "export" / "verl"
    assert "algorithm.adv_estimator=grpo" in command and str(export / "train.parquet") in command
    assert "actor_rollout_ref.model.path=Qwen/Qwen3-4B" in command
    assert "checkpoint.save_contents=" in command  # on-policy: weights saved for next round
    assert (tmp_path / "out" / "round-01" / "train" / "run.json").exists()
