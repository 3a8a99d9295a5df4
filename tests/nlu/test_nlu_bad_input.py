"""Bad input gets a valid answer, never an exception."""

from __future__ import annotations

import pytest

from nlu import LABELS, Classifier

BAD = [
    "",
    "   ",
    "\n\t",
    "😀😀😀",
    "🙂",
    "x" * 10_000,
    "стоп " * 3000,
    "abc\x00def\x07\x1b[31m",
    "\u200b\ufeff",
    "Спаси\u0301бо",
    "ｓｔｏｐ",
    "日本語のテキスト",
    "مرحبا",
    "\ud800",
    "STOP" + "\x00" * 50,
    "?" * 500,
    "1" * 5000,
]


@pytest.mark.parametrize("text", BAD)
def test_bad_input_is_classified(classifier: Classifier, text: str) -> None:
    got = classifier.classify(text, None)
    assert got.label in LABELS
    assert got.rating is None or 1 <= got.rating <= 5
    assert 0.0 <= got.confidence <= 1.0


def test_nothing_to_go_on_is_other(classifier: Classifier) -> None:
    for text in ["", "😀😀😀", "\x00\x01", "日本語のテキスト"]:
        assert classifier.classify(text).label == "other"


def test_long_reply_keeps_its_ending(classifier: Classifier) -> None:
    text = "бла " * 2500 + "отпишите меня"
    assert classifier.classify(text).label == "opt_out"


def test_batch_matches_single(classifier: Classifier) -> None:
    texts = [*BAD, "СТОП", "5", "где мой заказ"]
    contexts: list[str | None] = ["survey"] * len(texts)
    assert classifier.classify_many(texts, contexts) == [
        classifier.classify(t, c) for t, c in zip(texts, contexts, strict=True)
    ]


def test_unknown_context_is_a_caller_error(classifier: Classifier) -> None:
    with pytest.raises(ValueError, match="unknown context"):
        classifier.classify("5", "newsletter")
    with pytest.raises(ValueError, match="contexts"):
        classifier.classify_many(["a", "b"], ["survey"])


def test_empty_batch(classifier: Classifier) -> None:
    assert classifier.classify_many([]) == []
