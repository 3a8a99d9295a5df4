"""The issue-5 quality targets hold for the shipped model on the held-out split."""

from __future__ import annotations

from nlu import DEFAULT_MODEL_DIR, Classifier
from nlu.dataset import TEST_FILE, TRAIN_FILE, load_replies
from nlu.evaluate import evaluate
from nlu.text import fold


def test_held_out_targets(classifier: Classifier) -> None:
    report = evaluate(classifier, load_replies(TEST_FILE))
    assert report.failed_targets() == []
    assert report.per_label["opt_out"].precision >= 0.98
    assert report.per_label["opt_out"].recall >= 0.95
    assert report.macro_f1 >= 0.90
    assert report.rating_accuracy >= 0.95


def test_data_is_large_balanced_and_split() -> None:
    train, test = load_replies(TRAIN_FILE), load_replies(TEST_FILE)
    assert len(train) + len(test) >= 2000
    for split in (train, test):
        assert {r.label for r in split} == {"opt_out", "opt_in", "question", "rating", "other"}
        assert {r.lang for r in split} == {"ru", "en", "tr"}
    assert not {fold(r.text) for r in test} & {fold(r.text) for r in train}


def test_shipped_model_is_small() -> None:
    size = sum(p.stat().st_size for p in DEFAULT_MODEL_DIR.rglob("*") if p.is_file())
    assert size < 5_000_000
