"""Content-derived keys: the same content always gets the same key, so re-ingest is a no-op."""

from __future__ import annotations

import hashlib
from typing import Any

import orjson


def canonical(value: Any) -> bytes:
    """Canonical JSON bytes (sorted keys) of JSON-like data."""
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


def content_key(prefix: str, *parts: Any) -> str:
    """``prefix-<24 hex>`` from the canonical JSON of ``parts``."""
    digest = hashlib.sha256(canonical(list(parts))).hexdigest()[:24]
    return f"{prefix}-{digest}"


def file_hash(data: bytes) -> str:
    """SHA-256 of a file's bytes."""
    return hashlib.sha256(data).hexdigest()
