"""Domain-shaped or capability-shaped: a pattern's domain shares and the taxonomy's span score."""

from __future__ import annotations

from taskforge.mining.taxonomy import domain_shares, span_score, spans


def test_a_pattern_spans_when_each_domain_holds_at_least_a_fifth_of_it() -> None:
    both = ["retail", "airline"]
    assert spans({"retail": 8, "airline": 2}, both, 0.2)  # exactly 20%
    assert not spans({"retail": 9, "airline": 1}, both, 0.2)
    assert not spans({"retail": 5}, both, 0.2)
    assert not spans({}, both, 0.2)


def test_the_span_score_is_the_share_of_failures_in_spanning_patterns() -> None:
    patterns = [
        {"retail": 8, "airline": 2},  # spans (20%)
        {"retail": 30},  # retail only
        {"retail": 9, "airline": 1},  # 10%: does not span
        {"airline": 10, "retail": 10},  # spans
    ]
    span = span_score(patterns)
    assert span["score"] == round(30 / 70, 4)
    assert span["n_spanning_patterns"] == 2 and span["n_spanning_failures"] == 30
    assert span["n_failures"] == {"all": 70, "airline": 13, "retail": 57}
    assert span["domains"] == ["airline", "retail"]


def test_one_domain_has_no_span_score() -> None:
    span = span_score([{"retail": 4}, {"retail": 6}])
    assert span["score"] is None and span["n_spanning_patterns"] == 0


def test_domain_shares_give_the_count_the_share_and_the_share_of_the_domain() -> None:
    shares = domain_shares(["retail", "airline", "retail", "retail"], {"retail": 6, "airline": 4})
    assert shares == {
        "airline": {"count": 1, "share": 0.25, "of_domain": 0.25},
        "retail": {"count": 3, "share": 0.75, "of_domain": 0.5},
    }
