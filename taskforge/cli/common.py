"""Helpers shared by every command group: JSON output, one-line errors, the console."""

from __future__ import annotations

import functools
import json
import sys
import warnings
from collections.abc import Callable, Iterable, Iterator
from typing import Any, NoReturn, TypeVar

import typer
from rich.console import Console
from rich.progress import track as rich_track
from rich.text import Text

from taskforge.domains import DEFAULT_DOMAIN
from taskforge.errors import DataWarning, TaskforgeError

T = TypeVar("T")

console = Console(stderr=True)
"""Progress and human-readable messages go to stderr, so ``--json`` output stays clean."""

JSON_OPTION = typer.Option(False, "--json", help="Print machine-readable JSON on stdout.")


EXIT_USER_ERROR = 2


def fail(message: str) -> NoReturn:
    """Abort the command with a one-line error and exit code 2."""
    raise TaskforgeError(message)


def report_error(message: str, hint: str | None = None, as_json: bool = False) -> None:
    """Say what went wrong: ``{"error": ..., "hint": ...}`` on stdout with ``--json``, else
    ``error: ...`` (and ``hint: ...``) on stderr, printed as written (never read as markup,
    so ``pip install 'taskforge[embed]'`` keeps its brackets)."""
    if as_json:
        emit_json({"error": message, "hint": hint})
        return
    console.print(Text.assemble(("error:", "bold red"), " ", message), soft_wrap=True)
    if hint:
        console.print(Text.assemble(("hint:", "bold"), " ", hint), soft_wrap=True)


def reporting_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn taskforge's input errors into one line on stderr (a JSON object on stdout when the
    command was given ``--json``) and exit code 2."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with warnings.catch_warnings():  # restores showwarning and the filters on exit
            warnings.simplefilter("always", DataWarning)
            warnings.showwarning = _data_warnings_as_lines(warnings.showwarning)
            try:
                return func(*args, **kwargs)
            except TaskforgeError as exc:
                report_error(str(exc), exc.hint, bool(kwargs.get("as_json")))
                raise typer.Exit(EXIT_USER_ERROR) from None

    return wrapper


def _data_warnings_as_lines(show: Callable[..., Any]) -> Callable[..., Any]:
    """A ``warnings.showwarning`` printing data warnings as ``warning: ...`` lines on stderr,
    as they happen, and handing any other warning to ``show``.

    Nothing is recorded: a command whose libraries warn in a loop (verl's loop did, millions of
    times) would otherwise hold every warning in memory until it ends.
    """

    def showwarning(message: Any, category: type[Warning], *rest: Any, **kwargs: Any) -> None:
        if issubclass(category, DataWarning):
            line = Text.assemble(("warning:", "bold yellow"), " ", str(message))
            console.print(line, soft_wrap=True)
        else:
            show(message, category, *rest, **kwargs)

    return showwarning


class App(typer.Typer):
    """A typer app whose commands report :class:`TaskforgeError` as one-line errors."""

    def command(self, *args: Any, **kwargs: Any) -> Callable[[Callable[..., Any]], Any]:
        register = super().command(*args, **kwargs)
        return lambda func: register(reporting_errors(func))


def emit_json(data: Any) -> None:
    """Write ``data`` as JSON to stdout."""
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


DOMAIN_OPTION = typer.Option(DEFAULT_DOMAIN, "--domain", help="Domain of the tasks and DB.")


def track(items: Iterable[T], description: str, total: int | None = None) -> Iterator[T]:
    """Iterate with a transient progress bar on stderr."""
    yield from rich_track(
        items, description=description, total=total, console=console, transient=True
    )


WAREHOUSE_OPTION = typer.Option(
    None,
    "--warehouse",
    envvar="TASKFORGE_WAREHOUSE",
    help="Warehouse file (default ./taskforge.duckdb).",
    show_envvar=True,
)
