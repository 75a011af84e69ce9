"""Targeted synthesis end to end: sample, write, verify, deduplicate; the CLI writes the file."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from taskforge.cli.app import app
from taskforge.contracts.io import load_tasks
from taskforge.domains import get_domain
from taskforge.mining.embed import HashingEmbedder
from taskforge.synthesis.synthesize import synthesize
from taskforge.synthesis.verify import verify_task


def test_every_kept_task_is_certified_and_unique() -> None:
    dom = get_domain("retail")
    db = dom.load_db()
    report = synthesize(
        db, dom.toolkit_cls, ["multi_order", "multi_write"], 4, 1, HashingEmbedder()
    )
    assert report.accepted and all(t.certificate is not None for t in report.accepted)
    assert all(verify_task(t, dom.toolkit_cls, db).accepted for t in report.accepted)
    assert {t.pattern for t in report.accepted} == {"wrong_order", "early_stop"}
    assert len({t.id for t in report.accepted}) == len(report.accepted)
    families = report.summary()["families"]
    assert families["multi_order"]["sampled"] == 4 and families["multi_write"]["sampled"] == 4


def test_cli_writes_certified_tasks_and_guards_contamination(tmp_path: Path) -> None:
    out = tmp_path / "targeted.json"
    args = [
        "synthesize",
        "--family",
        "variant_selection",
        "--n",
        "3",
        "--embedder",
        "hashing",
        "--out",
        str(out),
        "--json",
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["families"]["variant_selection"]["sampled"] == 3
    tasks = load_tasks(out)
    assert tasks and all(t.origin == "targeted" and t.certificate for t in tasks)
    checked = CliRunner().invoke(app, [*args, "--check-targeting"])
    assert checked.exit_code == 0, checked.stderr
    assert "wrong_variant" in json.loads(checked.stdout)["targeting"]["patterns"]
    bundled = str(get_domain("retail").default_db_path)
    clash = CliRunner().invoke(app, [*args, "--reference-db", bundled])
    assert clash.exit_code == 2 and "shares entities" in json.loads(clash.stdout)["error"]


def test_synthesis_verified_on_an_executor_keeps_what_one_pass_keeps() -> None:
    from tests.unit.synthesis.test_verify_batch import PickledExecutor

    dom = get_domain("retail")
    db = dom.load_db()
    families = ["multi_order", "multi_write", "variant_selection"]
    local = synthesize(db, dom.toolkit_cls, families, 5, 2, HashingEmbedder())
    executor = PickledExecutor(workers=2)
    fanned = synthesize(
        db, dom.toolkit_cls, families, 5, 2, HashingEmbedder(), executor=executor, domain="retail"
    )
    assert len(executor.seen) == 4  # the candidates went out in 2 chunks a worker
    assert fanned.accepted and [t.model_dump() for t in fanned.accepted] == [
        t.model_dump() for t in local.accepted
    ]
    assert fanned.summary() == local.summary()
    assert fanned.verdicts == local.verdicts  # every verdict, reason and certificate
