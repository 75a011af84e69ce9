"""Labelers: c-TF-IDF keywords, dominant structured values, the LLM labeler offline."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from taskforge.llm import LLMClient, RoleConfig, register_offline_agent
from taskforge.llm.offline import unregister_offline_agent
from taskforge.mining.label import (
    KeywordLabeler,
    Labeler,
    LLMLabeler,
    class_tfidf,
    exemplars,
    parse_label,
)

CLUSTERS = {
    0: [
        "The agent exchanged the item for the wrong variant, a blue shirt instead of red.",
        "Wrong variant chosen in the exchange: size large instead of medium shirt.",
        "The exchange used a different variant than the customer asked for.",
    ],
    1: [
        "The agent cancelled the order without asking the customer to confirm.",
        "Cancelled the pending order before the customer confirmed the cancellation.",
        "No confirmation was requested before cancelling the order.",
    ],
    2: [
        "The refund went to the gift card instead of the original payment method.",
        "Refund paid to the wrong payment method, the gift card, not the credit card.",
        "The agent chose the gift card as refund payment method.",
    ],
}
STRUCTURED = {
    0: [
        {"tool": "exchange_delivered_order_items", "mechanism": "wrong_variant"},
        {"tool": "exchange_delivered_order_items", "mechanism": "wrong_variant"},
        {"tool": "exchange_delivered_order_items", "mechanism": "wrong_variant"},
    ],
    1: [
        {"tool": "cancel_pending_order", "mechanism": "no_confirmation", "argument": None},
        {"tool": "cancel_pending_order", "mechanism": "no_confirmation"},
        {"tool": "get_order_details", "mechanism": "no_confirmation"},
    ],
    2: [
        {"tool": "return_delivered_order_items", "argument": "payment_method_id"},
        {"tool": "return_delivered_order_items", "argument": "payment_method_id"},
        {"tool": "modify_pending_order_payment", "argument": "payment_method_id"},
    ],
}


def test_class_tfidf_prefers_discriminative_words():
    docs = ["order shirt variant variant", "order cancel cancel confirm", "order refund card"]
    scores, vocabulary = class_tfidf(docs)
    assert scores.shape == (3, len(vocabulary))
    order, variant = vocabulary.index("order"), vocabulary.index("variant")
    assert scores[0, variant] > scores[0, order]  # in every class: low idf


def test_keyword_labeler_keywords_and_names():
    labels = KeywordLabeler(top_k=5).label_sync(CLUSTERS, STRUCTURED)
    assert sorted(labels) == [0, 1, 2]
    assert "variant" in labels[0].keywords
    assert any(k.startswith("cancel") or k == "confirm" for k in labels[1].keywords)
    assert "card" in labels[2].keywords or "gift" in labels[2].keywords
    for label in labels.values():
        assert len(label.keywords) <= 5
        assert "agent" not in label.keywords[:1]  # in every cluster: low idf
        assert label.source == "keywords"
    assert labels[0].name == "wrong variant in exchange_delivered_order_items"
    assert labels[1].name == "no confirmation in cancel_pending_order"
    assert labels[2].name.startswith(labels[2].keywords[0])
    assert "on payment_method_id in return_delivered_order_items" in labels[2].name
    assert "3 failures" in labels[0].description
    assert len({label.name for label in labels.values()}) == 3


def test_keyword_labeler_is_a_labeler_and_async():
    labeler = KeywordLabeler()
    assert isinstance(labeler, Labeler)
    labels = asyncio.run(labeler.label(CLUSTERS, STRUCTURED))
    assert labels[0].name == "wrong variant in exchange_delivered_order_items"


def test_duplicate_names_are_made_unique():
    clusters = {0: ["alpha beta item"], 1: ["gamma delta item"]}
    structured = {0: [{"mechanism": "m", "tool": "t"}], 1: [{"mechanism": "m", "tool": "t"}]}
    labels = KeywordLabeler().label_sync(clusters, structured)
    assert labels[0].name != labels[1].name
    assert labels[0].name.startswith("m in t")


def test_exemplars_and_parse_label():
    assert exemplars(["a", "b", "a", "c"], 5) == ["a", "b", "c"]
    assert len(exemplars([str(i) for i in range(20)], 4)) == 4
    assert parse_label('```json\n{"name": "x  y", "description": "d"}\n```') == ("x y", "d")
    assert parse_label("not json") is None
    assert parse_label('{"name": "", "description": "d"}') is None
    assert parse_label('{"name": "n"}') is None
    assert parse_label('{"name": "' + "n" * 200 + '", "description": "d"}') is None


class LabelResponder:
    """Names a cluster after the first exemplar line; or answers garbage when told to."""

    prompts: list[str] = []  # noqa: RUF012

    def __init__(self, bad: bool) -> None:
        self.bad = bad

    def respond(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]]) -> dict:
        prompt = messages[-1]["content"]
        LabelResponder.prompts.append(prompt)
        if self.bad:
            return {"role": "assistant", "content": "Sure! Here is a name: great cluster"}
        first = next(line for line in prompt.splitlines() if line.startswith("- "))
        name = "llm " + " ".join(first[2:].split()[:3]).lower().rstrip(".,")
        answer = {"name": name, "description": "Described by the echo labeler."}
        return {"role": "assistant", "content": json.dumps(answer)}


@pytest.fixture
def echo_agents() -> Iterator[None]:
    LabelResponder.prompts = []
    register_offline_agent("echo-labeler", lambda ctx, params: LabelResponder(bad=False))
    register_offline_agent("bad-labeler", lambda ctx, params: LabelResponder(bad=True))
    yield
    unregister_offline_agent("echo-labeler")
    unregister_offline_agent("bad-labeler")


def test_llm_labeler_through_litellm_offline(echo_agents: None):
    client = LLMClient(RoleConfig(model="taskforge/echo-labeler"))
    labeler = LLMLabeler(client, n_exemplars=2, n_neighbours=1)
    assert isinstance(labeler, Labeler)
    labels = asyncio.run(labeler.label(CLUSTERS, STRUCTURED))
    assert all(label.source == "llm" for label in labels.values())
    assert labels[0].name.startswith("llm ")
    assert labels[0].description == "Described by the echo labeler."
    assert "variant" in labels[0].keywords  # keywords still c-TF-IDF
    assert len(LabelResponder.prompts) == 3
    prompt0 = next(p for p in LabelResponder.prompts if "wrong variant chosen" in p.lower())
    assert "mechanism=wrong_variant" in prompt0
    assert "similar" in prompt0.lower()  # the contrast section
    assert np.sum([p.count("\n- ") for p in LabelResponder.prompts]) >= 9


def test_llm_labeler_falls_back_on_bad_json(echo_agents: None):
    client = LLMClient(RoleConfig(model="taskforge/bad-labeler"))
    labels = asyncio.run(LLMLabeler(client).label(CLUSTERS, STRUCTURED))
    keyword = KeywordLabeler().label_sync(CLUSTERS, STRUCTURED)
    assert all(label.source == "keywords" for label in labels.values())
    assert {c: lab.name for c, lab in labels.items()} == {c: k.name for c, k in keyword.items()}


def test_labels_sharing_a_name_are_told_apart_by_what_differs():
    same = {"tool": "cancel_pending_order", "mechanism": "early_stop"}
    clusters = {
        0: ["Stopped after the first order, the second order was never cancelled."] * 3,
        1: ["Stopped before the refund, the gift card payment never went through."] * 3,
    }
    labels = KeywordLabeler(top_k=3).label_sync(clusters, {0: [same] * 3, 1: [same] * 3})
    names = [labels[0].name, labels[1].name]
    assert names[0] != names[1]
    assert all(n.startswith("early stop in cancel_pending_order (") for n in names)
    assert not any("#" in n for n in names)


def test_clusters_whose_labels_do_not_differ_keep_one_name():
    from taskforge.mining.label import same_names

    text = ["The agent stopped early and did not finish the second write."] * 3
    record = [{"tool": "modify_pending_order_items", "mechanism": "early_stop"}] * 3
    labels = KeywordLabeler().label_sync({0: text, 3: text}, {0: record, 3: record})
    assert same_names(labels) == {labels[0].name: [0, 3]}
