"""Many producers, one writer: shards land whole, readers get in, a killed ingest loses nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest

from taskforge.contracts.io import load_tasks
from taskforge.warehouse import Warehouse
from tests.unit.warehouse.conftest import REPO, episodes, make_run

TASKS = load_tasks(REPO / "datasets" / "retail" / "seed_tasks.json")[:8]


def _big_shard(path: Path, n: int, run_id: str) -> Path:
    """A shard with ``n`` trajectories (copies of real episodes under new ids), written whole."""
    run = make_run(run_id)
    base = [t.model_dump(mode="json", exclude_none=True) for t in episodes(TASKS, 2)]
    lines = [orjson.dumps({"type": "run", "run": run.model_dump(mode="json")})]
    lines += [
        orjson.dumps({"type": "task", "run_id": run_id, "task": t.to_json_dict()}) for t in TASKS
    ]
    for i in range(n):
        traj = dict(base[i % len(base)], id=f"{run_id}-{i}", trial=i // len(base))
        lines.append(orjson.dumps({"type": "trajectory", "run_id": run_id, "trajectory": traj}))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name("." + path.name + ".tmp")
    tmp.write_bytes(b"\n".join(lines) + b"\n")
    os.replace(tmp, path)
    return path


def _ingest_process(source: Path, wh: Path) -> subprocess.Popen[bytes]:
    cmd = [
        sys.executable,
        "-m",
        "taskforge",
        "ingest",
        "jsonl",
        str(source),
        "--warehouse",
        str(wh),
    ]
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def _counts(wh: Path) -> dict[str, int]:
    with Warehouse.open(wh, read_only=True) as w:
        return w.counts()


def test_sigkill_midway_keeps_the_warehouse_as_before(tmp_path: Path) -> None:
    wh = tmp_path / "w.duckdb"
    small = _big_shard(tmp_path / "small.jsonl", 10, "run-small")
    assert (
        subprocess.run(
            [
                sys.executable,
                "-m",
                "taskforge",
                "ingest",
                "jsonl",
                str(small),
                "--warehouse",
                str(wh),
            ],
            capture_output=True,
        ).returncode
        == 0
    )
    before = _counts(wh)
    big = _big_shard(tmp_path / "big.jsonl", 12_000, "run-big")
    size = wh.stat().st_size
    proc = _ingest_process(big, wh)
    deadline = time.monotonic() + 120
    # the big file's rows have started reaching the disk (the WAL, or blocks of the database):
    # its transaction is under way and not committed yet
    while _size(wh) <= size and _size(wh.with_name(wh.name + ".wal")) < 1_000_000:
        assert proc.poll() is None, (
            "ingest finished before it could be killed: make the input larger"
        )
        assert time.monotonic() < deadline
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert _counts(wh) == before
    rerun = _ingest_process(big, wh)
    assert rerun.wait() == 0, rerun.stderr.read() if rerun.stderr else ""
    after = _counts(wh)
    assert after["trajectories"] == before["trajectories"] + 12_000
    with Warehouse.open(wh, read_only=True) as w:
        assert (
            w.scalar("SELECT count(DISTINCT traj_uid) FROM trajectories") == after["trajectories"]
        )
        assert (
            w.scalar("SELECT count(*) FROM (SELECT DISTINCT traj_uid, idx FROM messages)")
            == after["messages"]
        )


def test_readers_query_while_shards_land(tmp_path: Path) -> None:
    shards, wh = tmp_path / "shards", tmp_path / "w.duckdb"
    sizes = [1500] * 6
    for i, n in enumerate(sizes):
        _big_shard(shards / f"worker{i}-0.jsonl", n, f"run-{i}")
    Warehouse.open(wh).close()
    proc = _ingest_process(shards, wh)
    seen = []
    while proc.poll() is None:
        seen.append(_counts(wh)["trajectories"])
        time.sleep(0.05)
    assert proc.returncode == 0
    seen.append(_counts(wh)["trajectories"])
    assert seen == sorted(seen), "counts only grow"
    assert all(n % 1500 == 0 for n in seen), "a reader never sees half a shard"
    assert seen[-1] == sum(sizes)
    assert len(set(seen)) >= 2, f"readers should see intermediate states, saw {sorted(set(seen))}"
    again = _ingest_process(shards, wh)
    assert again.wait() == 0 and _counts(wh)["trajectories"] == sum(sizes)


@pytest.mark.parametrize("n", [3])
def test_shard_written_by_many_workers_in_parallel(tmp_path: Path, n: int) -> None:
    """Workers in separate processes write shards at once; one ingest lands them all."""
    shards, wh = tmp_path / "shards", tmp_path / "w.duckdb"
    code = (
        "import sys; from pathlib import Path; "
        "from tests.integration.test_warehouse_producers import _big_shard; "
        "_big_shard(Path(sys.argv[1]), 200, sys.argv[2])"
    )
    shards.mkdir()
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, str(shards / f"w{i}.jsonl"), f"run-w{i}"], cwd=REPO
        )
        for i in range(n)
    ]
    assert [p.wait() for p in procs] == [0] * n
    assert _ingest_process(shards, wh).wait() == 0
    assert _counts(wh)["trajectories"] == 200 * n
