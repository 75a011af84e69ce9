"""The HTML report renders a small mined warehouse, escapes what it shows, survives no data."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from taskforge.cli.report import report
from taskforge.contracts import Message, Task, TerminationReason, ToolCall, Trajectory
from taskforge.contracts.io import load_tasks
from taskforge.mining.report import ReportError, keywords, render_report
from taskforge.warehouse import Warehouse, get_adapter, ingest_paths
from taskforge.warehouse.store import run_sql
from tests.unit.warehouse.conftest import REPO, episodes, make_run, write_shard

PATTERNS = [
    ("p-wrong", "wrong order picked", "Acts on the wrong one of two orders.", ["order", "wrong"]),
    ("p-idle", "gives up early", "Greets and stops before any tool call.", ["idle", "stop"]),
    ("p-xss", "<script>alert(1)</script> loop", "Name with markup & such.", ["loop"]),
]
ESCAPED_EXPLANATION = "The agent cancelled <b>the wrong</b> order & never asked."
NO_DATA_MARK = '<p class="empty">no data yet</p>'


def _error_episode(task: Task) -> Trajectory:
    """The user asks, the agent cancels with a bad reason, the tool refuses."""
    call = ToolCall(
        id="c0",
        name="cancel_pending_order",
        arguments={"order_id": "#W0000000", "reason": "because"},
    )
    return Trajectory(
        id="error-episode",
        task_id=task.id,
        trial=9,
        termination_reason=TerminationReason.MAX_STEPS,
        messages=[
            Message(role="user", content="Please cancel my order, it is <urgent>."),
            Message(role="assistant", tool_calls=[call]),
            Message(role="tool", id="c0", content="Error: Invalid reason", error=True),
        ],
    )


def _ingest(tmp_path: Path) -> Path:
    """Two rounds of the same three tasks (one of them targeted), plus an erroring episode."""
    seeds = load_tasks(REPO / "datasets" / "retail" / "seed_tasks.json")[:3]
    targeted = seeds[2].model_copy(update={"origin": "targeted", "pattern": "multi_record"})
    tasks = [*seeds[:2], targeted]
    path = tmp_path / "w.duckdb"
    for round_ in (0, 1):
        trajs = episodes(tasks, 4) + ([_error_episode(tasks[0])] if round_ else [])
        run = make_run(f"run-{round_}", round_)
        shard = write_shard(tmp_path / f"s{round_}.jsonl", run, tasks, trajs)
        ingest_paths(path, get_adapter("jsonl"), [shard])
    return path


def _add_taxonomy(path: Path) -> None:
    """A taxonomy of three patterns over judgments of every failed trajectory."""
    with Warehouse.open(path) as wh, wh.transaction() as con:
        failed = con.execute(
            "SELECT traj_uid, sim_id FROM trajectories WHERE reward < 1 OR reward IS NULL "
            "ORDER BY sim_id = 'error-episode' DESC, traj_uid"
        ).fetchall()
        run_sql(con, "INSERT INTO taxonomies VALUES ('tax-1', 1, 1, '{}', now())")
        for pid, name, description, words in PATTERNS:
            run_sql(
                con,
                "INSERT INTO patterns VALUES (?, 'tax-1', ?, ?, ?, 0, '[]', ?, ?)",
                [pid, f"lin-{pid}", name, description, json.dumps({"keywords": words}),
                 pid == "p-xss"],
            )  # fmt: skip
        for i, (uid, _) in enumerate(failed):
            explanation = ESCAPED_EXPLANATION if i == 0 else f"Failure number {i}."
            run_sql(
                con,
                "INSERT INTO judgments VALUES (?, ?, 'diagnostic', NULL, 'v1', 'wrong_record', "
                "'agent', 1, ?, '[]', '{}', now())",
                [f"j{i}", uid, explanation],
            )
            pid = PATTERNS[i % len(PATTERNS)][0]
            run_sql(
                con,
                "INSERT INTO assignments VALUES (?, 'tax-1', ?, ?, false)",
                [f"j{i}", pid, i / 10],
            )
        run_sql(
            con,
            "UPDATE patterns SET size = (SELECT count(*) FROM assignments a "
            "WHERE a.pattern_id = patterns.pattern_id)",
        )


@pytest.fixture(scope="module")
def mined(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = _ingest(tmp_path_factory.mktemp("report"))
    _add_taxonomy(path)
    return path


def _render(path: Path, taxonomy: str | None = None) -> str:
    with Warehouse.open(path, read_only=True) as wh:
        return render_report(wh, taxonomy)


def _assert_self_contained(doc: str) -> None:
    assert doc.startswith("<!DOCTYPE html>") and doc.rstrip().endswith("</html>")
    assert "<script" not in doc and "<link" not in doc
    assert "http://" not in doc and "https://" not in doc
    assert not re.search(r"""(src|href)=["'](?!#)""", doc)


def test_report_renders_every_section(mined: Path) -> None:
    doc = _render(mined)
    _assert_self_contained(doc)
    for anchor in ("runs", "sizes", "passk", "taxonomy", "exemplars"):
        assert f'<section id="{anchor}">' in doc
    assert doc.count("<svg") >= 3
    for _, name, description, _ in PATTERNS:
        assert html.escape(name) in doc and html.escape(description) in doc
    assert "order, wrong" in doc  # keywords from the signature
    assert "multi_record" in doc  # pass^k of the targeted task's pattern
    assert "run-0" in doc and "run-1" in doc and "round 1" in doc
    assert 'class="flag">quarantined' in doc
    assert NO_DATA_MARK not in doc
    sizes = doc.split('<section id="sizes">')[1].split("</section>")[0]
    assert "%</td>" in sizes  # failure rates per round


def test_exemplars_show_dialogue_and_escape(mined: Path) -> None:
    doc = _render(mined)
    assert "&lt;b&gt;the wrong&lt;/b&gt; order &amp; never asked." in doc
    assert "<b>the wrong</b>" not in doc
    assert "Please cancel my order, it is &lt;urgent&gt;." in doc
    assert "Hi! How can I help you today?" in doc
    assert "<details>" in doc and 'class="call error"' in doc
    assert "cancel_pending_order" in doc and "Error: Invalid reason" in doc
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in doc
    # at most three exemplars per pattern
    assert doc.count('class="exemplar"') <= 3 * len(PATTERNS)


def test_empty_warehouse_says_no_data(tmp_path: Path) -> None:
    path = tmp_path / "empty.duckdb"
    Warehouse.open(path).close()
    doc = _render(path)
    _assert_self_contained(doc)
    assert doc.count(NO_DATA_MARK) >= 4
    assert "no targeted tasks yet" in doc


def test_rollout_without_taxonomy(tmp_path: Path) -> None:
    doc = _render(_ingest(tmp_path))
    assert "pass^1" in doc and "<svg" in doc and NO_DATA_MARK in doc


def test_unknown_taxonomy_is_refused(mined: Path) -> None:
    with pytest.raises(ReportError, match="no taxonomy 'nope'"):
        _render(mined, "nope")


def test_keywords_of_signatures() -> None:
    assert keywords('{"keywords": ["a", "b"]}') == ["a", "b"]
    assert keywords({"terms": [["x", 0.5], ["y", 0.2]]}) == ["x", "y"]
    assert keywords(None) == [] and keywords("plain") == ["plain"]


def test_cli_writes_the_file(mined: Path, tmp_path: Path) -> None:
    app = typer.Typer()
    app.command()(report)
    out = tmp_path / "sub" / "report.html"
    args = ["--out", str(out), "--warehouse", str(mined)]
    result = CliRunner().invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary == {"out": str(out), "bytes": out.stat().st_size, "patterns": len(PATTERNS)}
    _assert_self_contained(out.read_text(encoding="utf-8"))
    result = CliRunner().invoke(app, [*args, "--taxonomy", "tax-1"])
    assert result.exit_code == 0 and result.stdout.strip() == str(out)
    assert [p.name for p in out.parent.iterdir()] == ["report.html"]  # no temp file left
