"""The loop's per-round table stays readable in an 80-column terminal (nothing cut to '…')."""

from __future__ import annotations

import io

from rich.console import Console

from taskforge.cli import loop as loop_cli


def row(round_: int, train: str) -> dict[str, object]:
    return {
        "round": round_,
        "pass_k": {"1": 0.4583, "2": 0.25, "4": 0.125},
        "failures_by_pattern": {"early stop (early_stop)": 12, "wrong order (wrong_order)": 7},
        "tasks_added": 18,
        "pool_size": 142,
        "acceptance_rate": 0.857,
        "train": train,
    }


def test_round_table_fits_80_columns(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    out = io.StringIO()
    monkeypatch.setattr(loop_cli, "console", Console(file=out, width=80, color_system=None))
    summary = {"loop_id": "demo@0123456789abcdef", "rounds": [row(1, "skipped"), row(2, "dry-run")]}
    loop_cli.print_rounds(summary)
    text = out.getvalue()
    assert "…" not in text
    for header in ("pass^1", "pass^4", "fails", "patterns", "accept", "train"):
        assert header in text
    assert "0.458" in text and "86%" in text and "dry-run" in text
    assert max(len(line) for line in text.splitlines()) <= 80
