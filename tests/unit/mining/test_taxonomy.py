"""Pattern signatures do not depend on the order of the pattern's members."""

from __future__ import annotations

import itertools

from taskforge.mining.label import dominant_values
from taskforge.mining.taxonomy import dominant_features


def test_a_tie_in_the_dominant_mechanism_goes_to_the_smallest_value_in_any_order() -> None:
    members = [
        {"mechanism": "wrong_variant", "tool": "exchange"},
        {"mechanism": "wrong_order", "tool": "exchange"},
        {"mechanism": "wrong_item", "tool": "cancel"},
    ]
    seen = {
        (f["mechanism"]["value"], f["tool"]["value"])
        for f in map(dominant_features, itertools.permutations(members))
    }
    assert seen == {("wrong_item", "exchange")}
    assert dominant_features(members)["mechanism"]["share"] == 0.333


def test_a_half_and_half_label_value_is_the_same_in_any_order() -> None:
    records = [{"mechanism": m} for m in ("wrong_user", "early_stop")]
    first = dominant_values(records, ["mechanism"])
    assert first == dominant_values(list(reversed(records)), ["mechanism"])
    assert first["mechanism"] == ("early_stop", 0.5)
