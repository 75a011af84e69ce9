"""What the diagnostic judge knows of Retail's write arguments (``JudgeHints``)."""

from __future__ import annotations

RECORD_ARGS: tuple[tuple[str, str], ...] = (("order_id", "wrong_order"), ("user_id", "wrong_user"))
"""Arguments naming the record a write acts on, with the mechanism when they differ."""
ITEM_ARGS: tuple[tuple[str, str], ...] = (
    ("item_ids", "wrong_item"),
    ("new_item_ids", "wrong_variant"),
)
"""Arguments listing the items of the order a write acts on, with the mechanism."""

__all__ = ["ITEM_ARGS", "RECORD_ARGS"]
