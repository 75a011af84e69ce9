"""Exceptions taskforge raises for bad input; the CLI turns them into one-line errors."""

from __future__ import annotations

from pydantic import ValidationError


class TaskforgeError(Exception):
    """Base class of errors that are the user's to fix (bad file, record or field).

    Args:
        message: What is wrong, in one line.
        hint: What to do about it, when there is something to copy (a command to run); the
            CLI prints it as written (never as markup) and puts it in ``--json`` errors.
    """

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint


class DataError(TaskforgeError):
    """A file or record that does not match its contract."""


class DataWarning(UserWarning):
    """Input that did not stop a command but that the user should know of (e.g. a field of a
    tau2 file that no known tau2 version has, not read); the CLI prints it as one line."""


def describe_validation_error(source: str, exc: ValidationError, record: str | None = None) -> str:
    """One line naming the file, the record and the field of the first validation error."""
    first = exc.errors()[0]
    loc = ".".join(str(part) for part in first["loc"])
    where = f"record {record}: " if record else ""
    count = exc.error_count()
    more = f" (+{count - 1} more)" if count > 1 else ""
    return f"{source}: {where}field {loc or '<root>'}: {first['msg']}{more}"
