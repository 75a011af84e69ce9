"""``taskforge tools``: the tool schemas a domain shows to a model."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from taskforge.cli.common import DOMAIN_OPTION, JSON_OPTION, App, console, emit_json
from taskforge.domains import get_domain
from taskforge.env.schema import load_schema_overrides

app = App(help="Tool schemas of a domain.", no_args_is_help=True)

TOOL_SCHEMAS_OPTION = typer.Option(
    None,
    "--tool-schemas",
    help="JSON list of exact function schemas to show models instead of taskforge's own "
    "(e.g. tau2's), so a policy trains on what its benchmark shows it.",
)


@app.command("schemas", epilog="Example: taskforge tools schemas --domain retail --json")
def schemas(
    domain: str = DOMAIN_OPTION,
    tool_schemas: Path | None = TOOL_SCHEMAS_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Print the OpenAI function schemas of the domain's tools."""
    dom = get_domain(domain)
    specs = dom.toolkit_cls.specs
    shown = (
        load_schema_overrides(tool_schemas, specs)
        if tool_schemas is not None
        else dom.toolkit_cls.openai_schemas()
    )
    if as_json:
        emit_json(shown)
        return
    table = Table("tool", "kind", "parameters", "description")
    for schema in shown:
        fn = schema["function"]
        params = ", ".join(fn.get("parameters", {}).get("properties", {}))
        first_line = fn.get("description", "").split("\n")[0]
        table.add_row(fn["name"], specs[fn["name"]].kind.value, params, first_line)
    console.print(table)
