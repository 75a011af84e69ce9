"""Helpers shared by every command group: JSON output, one-line errors, the console."""

from __future__ import annotations

import json
import sys
from typing import Any, NoReturn

import click
import typer
from rich.console import Console

console = Console(stderr=True)
"""Progress and human-readable messages go to stderr, so ``--json`` output stays clean."""

JSON_OPTION = typer.Option(False, "--json", help="Print machine-readable JSON on stdout.")


class UserError(click.ClickException):
    """A problem with the user's input (file, record, field): one line on stderr, exit code 2.

    Raised anywhere below a command; click catches it, so no traceback reaches the user.
    """

    exit_code = 2

    def show(self, file: Any = None) -> None:
        """Print the one-line error."""
        console.print(f"[bold red]error:[/] {self.message}", highlight=False, soft_wrap=True)


def fail(message: str) -> NoReturn:
    """Abort the command with a one-line error and exit code 2."""
    raise UserError(message)


def emit_json(data: Any) -> None:
    """Write ``data`` as JSON to stdout."""
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")
