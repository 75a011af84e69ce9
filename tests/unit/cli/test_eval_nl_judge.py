"""``eval tau2-results --llm-config``: NL assertions judged, total rewards compared."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from taskforge.cli.app import app
from taskforge.contracts.io import load_results
from taskforge.domains import get_domain
from taskforge.rewards.nl_agreement import nl_agreement
from tests.fake_openai_server import FakeOpenAIServer, fake_role, text_reply

pytestmark = pytest.mark.shared


@pytest.fixture()
def sample(tau2_sample: Path) -> Path:
    """tau2 1.0.1's sample results, as tau2 wrote them."""
    return tau2_sample


def _config(tmp_path: Path, url: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    judge = fake_role(url, monkeypatch, "openai/fake-judge", temperature=0.0)
    path = tmp_path / "llm.yaml"
    path.write_text(yaml.safe_dump({"judge": judge, "cache_dir": None}))
    return path


def test_always_met_judge_agrees_on_all_8_and_shows_the_constants(
    sample: Path, tau2_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with FakeOpenAIServer(lambda body: text_reply("YES, it was done.")) as server:
        config = _config(tmp_path, server.url, monkeypatch)
        args = ["eval", "tau2-results", str(sample), "--db", str(tau2_dir / "db.json")]
        result = CliRunner().invoke(app, [*args, "--llm-config", str(config), "--json"])
        n_requests = len(server.requests)
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    summary = report["summary"]
    assert summary["n"] == 8 and summary["agree"] == 8 and summary["reward_agree"] == 8
    assert summary["fixed_all_met_agree"] == 8 and summary["fixed_none_met_agree"] == 1
    assert summary["nl_judge"] == "openai/fake-judge" and summary["nl_skipped"] == 0
    assert summary["nl_assertions_judged"] == summary["nl_assertions_met"] == n_requests == 10
    assert summary["judge_stats"]["unparseable"] == 0
    row = next(r for r in report["simulations"] if r["task_id"] == "110")
    assert row["recorded_reward"] == row["recomputed_reward"] == 1.0
    assert [v["met"] for v in row["nl_verdicts"]] == [True] * 3
    assert row["reward_none_met"] == 0.0 and row["reward_all_met"] == 1.0


def test_without_a_judge_nl_is_skipped_and_reported(sample: Path, tau2_dir: Path) -> None:
    dom = get_domain("retail")
    report = nl_agreement(
        load_results(sample), dom.toolkit_cls, dom.load_db(tau2_dir / "db.json"), None
    )
    summary = report["summary"]
    assert summary["nl_judge"] is None and summary["nl_skipped"] == 7
    assert summary["nl_assertions_judged"] == 0 and summary["judge_stats"] is None
    assert all(r["nl_verdicts"] is None for r in report["simulations"] if r["task_id"] != "112")
    result = CliRunner().invoke(
        app, ["eval", "tau2-results", str(sample), "--db", str(tau2_dir / "db.json")]
    )
    assert result.exit_code == 0 and "none met 1/8" in result.stderr.replace("\n", " ")
