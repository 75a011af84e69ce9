"""``taskforge schemas``: generate or check the JSON Schemas of the data contracts."""

from __future__ import annotations

from pathlib import Path

import typer

from taskforge.cli.common import JSON_OPTION, App, console, emit_json, fail
from taskforge.contracts.schemas import drifted_schemas, write_schemas

app = App(help="JSON Schemas generated from taskforge.contracts.", no_args_is_help=True)


@app.command("generate", epilog="Example: taskforge schemas generate --out schemas --json")
def generate(
    out: Path = typer.Option(Path("schemas"), "--out", help="Folder for the *.schema.json files."),
    check: bool = typer.Option(False, "--check", help="Only report drift; exit 1 if any."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Write schemas/*.json from the contracts (or check they are current)."""
    if check:
        drift = drifted_schemas(out)
        if as_json:
            emit_json({"drifted": drift})
        if drift:
            fail(
                f"{out}: schemas out of date: {', '.join(drift)} (run `taskforge schemas generate`)"
            )
        console.print(f"{out}: schemas are current")
        return
    written = write_schemas(out)
    if as_json:
        emit_json({"written": [str(p) for p in written]})
    else:
        console.print(f"wrote {len(written)} schemas to {out}")
