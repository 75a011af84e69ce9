"""The local server's options: command line and environment (no model needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from taskforge.llm.local import ServerOptions


def test_openmp_threads_sleep_when_they_wait_unless_the_user_says_otherwise(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    monkeypatch.setenv("TASKFORGE_PROBE", "kept")
    env = ServerOptions().environment()
    assert env["OMP_WAIT_POLICY"] == "PASSIVE" and env["TASKFORGE_PROBE"] == "kept"
    monkeypatch.setenv("OMP_WAIT_POLICY", "ACTIVE")
    assert ServerOptions().environment()["OMP_WAIT_POLICY"] == "ACTIVE"


def test_the_command_runs_the_packaged_server_on_the_chosen_port(tmp_path: Path) -> None:
    model = tmp_path / "m.gguf"
    command = ServerOptions(model=model, port=9123, threads=2).command()
    assert command[1:3] == ["-m", "taskforge.llm.local_server"]
    assert command[command.index("--port") + 1] == "9123"
    assert command[command.index("--model") + 1] == str(model)
    assert command[command.index("--threads") + 1] == "2"
    assert command[command.index("--prompt-cache") + 1] == "contexts"
    assert command[command.index("--contexts") + 1] == "4"
