"""``bench mining --judge llm``: an LLM judge on a stratified sample of the failure benchmark.

The judge is the scripted OpenAI-compatible server (real HTTP through LiteLLM): one that names
each failure's label scores ARI 1.0, one that answers garbage is counted and never crashes.
"""

from __future__ import annotations

import gzip
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from taskforge.cli.app import app
from taskforge.contracts import Trajectory
from taskforge.domains import get_domain
from taskforge.llm import load_llm_config, make_clients
from taskforge.mining.bench import (
    UNJUDGED,
    JudgeBenchOptions,
    default_bench_path,
    run_judge_bench,
    stratified_sample,
)
from taskforge.mining.failure_bench import generate_failure_bench
from taskforge.mining.judge import LLMJudge, render_dialogue
from tests.fake_openai_server import FakeOpenAIServer, fake_role, text_reply
from tests.unit.warehouse.conftest import REPO

PER_MODE = 5


@pytest.fixture(scope="module")
def bench(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small benchmark: 5 failures for each of the 6 error modes."""
    from taskforge.contracts.io import load_tasks

    dom = get_domain("retail")
    tasks = load_tasks(REPO / "datasets" / "retail" / "seed_tasks.json")
    out = tmp_path_factory.mktemp("bench")
    generate_failure_bench(out, tasks, dom.load_db(), dom.toolkit_cls, per_mode=PER_MODE, seed=3)
    return out / "failures.jsonl.gz"


@pytest.fixture(scope="module")
def dialogues(bench: Path) -> dict[str, str]:
    """Rendered dialogue -> label, so that a scripted judge can 'know' each failure's label."""
    out = {}
    with gzip.open(bench, "rt", encoding="utf-8") as lines:
        for line in lines:
            record = json.loads(line)
            if record["type"] == "trajectory":
                traj = Trajectory.model_validate(record["trajectory"])
                out[render_dialogue(traj.messages)] = (traj.error_modes or ["none"])[0]
    return out


def _config(tmp_path: Path, url: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    judge = fake_role(url, monkeypatch, "openai/fake-judge", temperature=0.0, max_retries=0)
    path = tmp_path / "llm.yaml"
    path.write_text(yaml.safe_dump({"judge": judge, "cache_dir": None, "concurrency": 4}))
    return path


def _judge(config: Path) -> LLMJudge:
    client = make_clients(load_llm_config(config), roles=("judge",))["judge"]
    return LLMJudge(client, toolkit_cls=get_domain("retail").toolkit_cls)


def _verdict(explanation: str, category: str = "other") -> dict[str, Any]:
    answer = {"category": category, "blame": "agent", "decisive_step": None}
    return text_reply(json.dumps({**answer, "explanation": explanation, "evidence": []}))


def _label_namer(dialogues: dict[str, str]) -> Any:
    def script(body: dict[str, Any]) -> dict[str, Any]:
        prompt = body["messages"][0]["content"]
        label = next(lab for text, lab in dialogues.items() if text in prompt)
        return _verdict(f"{label.replace('_', ' ')} mistake")

    return script


def test_the_sample_is_stratified_and_reproducible_by_seed() -> None:
    labels = {f"u{i:03d}": "abc"[i % 3] for i in range(30)} | {"v1": "d", "v2": "d"}
    first = stratified_sample(labels, 10, seed=1)
    assert first == stratified_sample(labels, 10, seed=1) == sorted(first)
    counts = Counter(labels[k] for k in first)
    assert counts["d"] == 2 and sorted(counts.values()) == [2, 2, 3, 3]  # 10 = 4 x 2 + 2
    assert any(stratified_sample(labels, 10, seed=s) != first for s in range(2, 6))
    assert len(stratified_sample(labels, 100, seed=0)) == len(labels)
    assert stratified_sample({}, 5, seed=0) == []


def test_a_judge_naming_the_label_scores_ari_1(
    bench: Path, dialogues: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[tuple[int, int]] = []
    with FakeOpenAIServer(_label_namer(dialogues)) as server:
        judge = _judge(_config(tmp_path, server.url, monkeypatch))
        options = JudgeBenchOptions(sample=18, seed=4, embedder="hashing")
        report = run_judge_bench(bench, judge, options, lambda done, n: seen.append((done, n)))
        n_requests = len(server.requests)
    assert report["sample"]["n"] == 18 and set(report["sample"]["per_label"].values()) == {3}
    assert report["llm_judge"]["ari"] == 1.0 and report["llm_judge"]["purity"] == 1.0
    assert report["judgments"]["ok"] == 18 == n_requests and seen[-1] == (18, 18)
    assert report["judgments"]["unparseable"] == report["judgments"]["crashed"] == 0
    assert -1.0 <= report["diagnostic_judge"]["ari"] <= 1.0
    assert report["tokens"]["calls"] == 18 and report["tokens"]["completion_tokens"] > 0
    assert report["seconds"]["judge_per_failure"] > 0
    assert report["categories_by_label"]["wrong_item"] == {"other": 3}


def test_garbage_answers_and_broken_calls_are_counted_not_fatal(
    bench: Path, dialogues: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def script(body: dict[str, Any]) -> dict[str, Any]:
        prompt = body["messages"][0]["content"]
        label = next(lab for text, lab in dialogues.items() if text in prompt)
        if label == "early_stop":
            raise RuntimeError("the server breaks")  # answered as HTTP 500
        if label == "wrong_order":
            return _verdict("fine", category="banana")  # JSON, but not a category
        return text_reply("{not json at all" if label == "repeat_call" else "I think so too.")

    with FakeOpenAIServer(script) as server:
        judge = _judge(_config(tmp_path, server.url, monkeypatch))
        report = run_judge_bench(bench, judge, JudgeBenchOptions(12, 0, "hashing"))
    counts = report["judgments"]
    assert (counts["ok"], counts["call_failed"], counts["unparseable"]) == (0, 2, 10)
    assert counts["first_errors"] and report["llm_judge"]["n_clusters"] == 1
    assert report["llm_judge"]["ari"] == 0.0 and report["llm_judge"]["parsed_only"] is None
    assert {e["explanation"] for e in report["examples"]} == {UNJUDGED}


def test_a_judge_that_raises_is_counted_as_crashed(bench: Path) -> None:
    class Broken:
        model = "broken"

        async def ajudge(self, *args: Any) -> Any:
            raise KeyError("boom")

    report = run_judge_bench(bench, Broken(), JudgeBenchOptions(6, 0, "hashing"))
    assert report["judgments"]["crashed"] == 6 and report["tokens"] is None
    assert "KeyError" in report["judgments"]["first_errors"][0]


def test_cli_json_from_another_folder_uses_the_repository_bench(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert default_bench_path() == REPO / "datasets" / "failure-bench" / "failures.jsonl.gz"
    with FakeOpenAIServer(lambda body: _verdict("The agent did the wrong thing.")) as server:
        config = _config(tmp_path, server.url, monkeypatch)
        monkeypatch.chdir(tmp_path)
        args = ["bench", "mining", "--judge", "llm", "--config", str(config), "--json"]
        result = CliRunner().invoke(app, [*args, "--sample", "12", "--embedder", "hashing"])
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["sample"]["n"] == 12 and len(report["sample"]["per_label"]) == 6
    assert report["judgments"]["ok"] == 12 and report["judge_model"] == "openai/fake-judge"
    assert {"ari", "nmi", "purity"} <= set(report["diagnostic_judge"])


def test_cli_option_mistakes_are_one_line_errors(tmp_path: Path) -> None:
    runner = CliRunner()
    both = runner.invoke(
        app, ["bench", "mining", "--judge", "llm", "--local", "--config", str(tmp_path)]
    )
    assert both.exit_code == 2 and "exactly one of" in both.stderr
    stray = runner.invoke(app, ["bench", "mining", "--local"])
    assert stray.exit_code == 2 and "--judge llm" in stray.stderr
    missing = runner.invoke(app, ["bench", "mining", "--bench", str(tmp_path / "no.jsonl.gz")])
    assert missing.exit_code == 2 and "no such file" in missing.stderr


def test_sigterm_during_a_local_run_unwinds_and_is_restored() -> None:
    import os
    import signal

    from taskforge.cli.bench import _sigterm_exits

    before = signal.getsignal(signal.SIGTERM)
    stopped = []
    with pytest.raises(SystemExit) as exc, _sigterm_exits():
        try:
            os.kill(os.getpid(), signal.SIGTERM)  # the handler raises at the next bytecode
        finally:
            stopped.append(True)  # where the CLI stops the local server
    assert exc.value.code == 128 + signal.SIGTERM and stopped == [True]
    assert signal.getsignal(signal.SIGTERM) == before


def test_a_local_server_that_died_is_reported_with_its_log(tmp_path: Path) -> None:
    from types import SimpleNamespace

    from taskforge.cli.bench import _server_state

    log = tmp_path / "server.log"
    log.write_text("loading\nSegmentation fault\n")
    dead = SimpleNamespace(
        process=SimpleNamespace(poll=lambda: -11), options=SimpleNamespace(threads=2), log_path=log
    )
    state = _server_state(dead)
    assert state["exited_with"] == -11 and state["log_tail"][-1] == "Segmentation fault"
    alive = SimpleNamespace(
        process=SimpleNamespace(poll=lambda: None), options=SimpleNamespace(threads=1), log_path=log
    )
    assert _server_state(alive) == {"threads": 1, "exited_with": None}
