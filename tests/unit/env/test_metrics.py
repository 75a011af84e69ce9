"""pass^k with tau2's estimator."""

from __future__ import annotations

import pytest

from taskforge.env.metrics import is_success, pass_hat_k, pass_hat_k_task


def test_pass_hat_k_averages_comb_ratio_over_tasks() -> None:
    results = [
        ("a", 1.0),
        ("a", 1.0),
        ("a", 0.0),
        ("a", 1.0),
        ("b", 0.0),
        ("b", 1.0),
        ("b", 0.0),
        ("b", 0.0),
    ]
    scores = pass_hat_k(results)
    assert scores[1] == pytest.approx((3 / 4 + 1 / 4) / 2)
    assert scores[2] == pytest.approx((3 / 6 + 0) / 2)
    assert scores[4] == 0.0
    assert list(scores) == [1, 2, 3, 4]


def test_success_tolerance_and_limits() -> None:
    assert is_success(1.0 - 1e-9) and not is_success(0.999)
    assert pass_hat_k_task(4, 4, 4) == 1.0
    with pytest.raises(ValueError):
        pass_hat_k_task(2, 1, 3)
    assert pass_hat_k([("a", 1.0)], max_k=3) == {1: 1.0}
    assert pass_hat_k([]) == {}
