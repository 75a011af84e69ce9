"""Shared base for every taskforge data contract."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

SCHEMA_VERSION = "1.0"
"""Version of the data contracts; bumped on any incompatible change."""


class Contract(BaseModel):
    """Base model: unknown fields are an error, never silently dropped."""

    model_config = ConfigDict(extra="forbid", validate_assignment=False)

    def to_json_dict(self, *, exclude_unset: bool = True) -> dict[str, Any]:
        """Dump to JSON-compatible data.

        With ``exclude_unset`` (the default) a model parsed from a file dumps back to exactly
        the keys that file had, which makes tau2 round trips lossless.
        """
        return self.model_dump(mode="json", exclude_unset=exclude_unset, by_alias=True)


def versioned(title: str) -> ConfigDict:
    """Model config for a top-level contract: forbids extras and stamps the schema version."""
    return ConfigDict(
        extra="forbid",
        title=title,
        json_schema_extra={"x-taskforge-schema-version": SCHEMA_VERSION},
    )
