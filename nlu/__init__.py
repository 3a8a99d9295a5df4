"""Reply understanding: label a customer's answer (opt-out, opt-in, question, rating, other).

A spaCy text classifier trained on our own replies, plus rules where rules are more reliable
(opt-out phrases and their negation, scores, questions). Decisions are sans-IO: text in,
`Classification` out; the shipped model in `nlu/model/` is loaded once per `Classifier`.

    >>> clf = Classifier()                                    # loads nlu/model once
    >>> clf.classify("СТОООП")
    Classification(label='opt_out', rating=None, confidence=0.99)
    >>> classify("8 из 10, хотя нет, 7", context="survey").rating
    4
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

from nlu.classifier import DEFAULT_MODEL_DIR, Classifier
from nlu.labels import CONTEXTS, LABELS, Classification, Context, Label

__all__ = [
    "CONTEXTS",
    "DEFAULT_MODEL_DIR",
    "LABELS",
    "Classification",
    "Classifier",
    "Context",
    "Label",
    "classify",
    "classify_many",
    "default_classifier",
]

_default: Classifier | None = None
_default_lock = threading.Lock()


def default_classifier() -> Classifier:
    """Return the process-wide classifier, loading the shipped model on first use only."""
    global _default
    if _default is None:
        with _default_lock:
            if _default is None:
                _default = Classifier()
    return _default


def classify(text: str, context: str | None = None) -> Classification:
    """Classify one reply with the shared default classifier (loaded on the first call)."""
    return default_classifier().classify(text, context)


def classify_many(texts: Sequence[str], contexts: Sequence[str | None] | None = None) -> list[Classification]:
    """Classify a batch of replies with the shared default classifier, in input order."""
    return default_classifier().classify_many(texts, contexts)
