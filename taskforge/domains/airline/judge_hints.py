"""What the diagnostic judge knows of Airline's write arguments (``JudgeHints``)."""

from __future__ import annotations

RECORD_ARGS: tuple[tuple[str, str], ...] = (
    ("reservation_id", "wrong_record"),
    ("user_id", "wrong_user"),
)
"""Arguments naming the record a write acts on, with the mechanism when they differ."""
ITEM_ARGS: tuple[tuple[str, str], ...] = ()
"""Airline writes list no sub-record ids (flights and passengers are values: a differing one is
a plain ``wrong_argument``)."""

__all__ = ["ITEM_ARGS", "RECORD_ARGS"]
