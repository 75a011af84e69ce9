"""`taskforge rollout` offline (scripted policy and user through LiteLLM): resume after a kill."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import orjson

from taskforge.warehouse import Warehouse

REPO = Path(__file__).resolve().parents[2]
TASKS = REPO / "datasets" / "retail" / "seed_tasks.json"


def _cmd(out: Path, wh: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "taskforge",
        "rollout",
        "--tasks",
        str(TASKS),
        "--limit",
        "10",
        "--trials",
        "4",
        "--concurrency",
        "1",
        "--out",
        str(out),
        "--warehouse",
        str(wh),
        "--json",
    ]


def _episodes(path: Path) -> list[tuple[str, int]]:
    pairs = []
    for line in path.read_bytes().splitlines():
        try:
            record = orjson.loads(line)
        except orjson.JSONDecodeError:
            continue
        if record["type"] == "trajectory":
            pairs.append((record["trajectory"]["task_id"], record["trajectory"]["trial"]))
    return pairs


def test_killed_rollout_resumes_only_missing_pairs(tmp_path: Path) -> None:
    out, wh = tmp_path / "rollouts", tmp_path / "w.duckdb"
    proc = subprocess.Popen(_cmd(out, wh), cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while True:
        parts = list(out.glob("*.jsonl.part"))
        if parts and len(_episodes(parts[0])) >= 6:
            break
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        assert time.monotonic() < deadline
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done_before = len(_episodes(parts[0]))
    assert 6 <= done_before < 40
    rerun = subprocess.run(_cmd(out, wh), cwd=REPO, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr
    report = json.loads(rerun.stdout)
    assert report["episodes_resumed"] == done_before
    assert report["episodes_played"] == 40 - done_before
    shard = Path(report["shard"])
    pairs = _episodes(shard)
    assert len(pairs) == len(set(pairs)) == 40
    with Warehouse.open(wh, read_only=True) as w:
        assert w.counts()["trajectories"] == 40
        failed = w.query("SELECT error_modes FROM trajectories WHERE reward < 1").to_dicts()
    assert all(json.loads(f["error_modes"] or "[]") for f in failed), (
        "every failure names its modes"
    )
