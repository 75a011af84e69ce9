"""The stage registry resolves every registered name and rejects unknown ones clearly."""

from __future__ import annotations

import pytest

from taskforge.errors import DataError
from taskforge.registry import REGISTRY, names, resolve


@pytest.mark.parametrize(("kind", "name"), [(k, n) for k, v in REGISTRY.items() for n in v])
def test_every_registered_name_resolves(kind: str, name: str) -> None:
    assert callable(resolve(kind, name))


def test_unknown_names_are_errors() -> None:
    with pytest.raises(DataError, match="unknown embedder 'nope'; known: hashing, minilm"):
        resolve("embedder", "nope")
    with pytest.raises(DataError, match="unknown stage kind"):
        resolve("oracle", "x")
    assert names("labeler") == ["keywords", "llm"]
