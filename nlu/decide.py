"""The decision step: weigh rule signals, the extracted score and the model's label scores.

Order of trust: explicit opt-out/opt-in phrases (the later one wins: "случайно отписался,
подпишите обратно"), then questions (a question wins over a score), then a score, then
thanks and small talk, then the model, whose opt-out and opt-in guesses must clear a higher
bar because a wrong suppression costs the client a customer.
"""

from __future__ import annotations

from collections.abc import Mapping

from nlu.labels import LABELS, Classification, Context, Label
from nlu.ratings import extract_rating
from nlu.rules import read_signals

#: Contexts in which a bare number ("5") is read as a score; elsewhere it may be a menu choice.
BARE_NUMBER_CONTEXTS: frozenset[Context | None] = frozenset({None, "survey"})
#: The model alone must be this sure before it suppresses or resumes messages.
MODEL_ACTION_THRESHOLD = 0.75
#: Below this the model's question guess is not trusted and the reply is `other`.
MODEL_QUESTION_THRESHOLD = 0.6
#: Confidence reported when a rule decided the label.
RULE_CONFIDENCE = 0.95


def decide(folded: str, context: Context | None, scores: Mapping[str, float]) -> Classification:
    """Turn a folded reply, its context and the model's label scores into a Classification."""
    signals = read_signals(folded)
    rating = extract_rating(folded, bare_numbers=context in BARE_NUMBER_CONTEXTS)
    if signals.opt_out:
        return _ruled("opt_out", rating, scores)
    if signals.opt_in:
        return _ruled("opt_in", rating, scores)
    if signals.question:
        return _ruled("question", rating, scores)
    if rating is not None:
        return _ruled("rating", rating, scores)
    if signals.empty or signals.small_talk:
        return _ruled("other", None, scores)
    return _modelled(scores, exclude_opt_out=signals.stop_false_friend)


def _ruled(label: Label, rating: int | None, scores: Mapping[str, float]) -> Classification:
    """A label chosen by rule; confidence is the rule's, or the model's when it is surer."""
    confidence = max(RULE_CONFIDENCE, scores.get(label, 0.0))
    return Classification(label, rating, round(confidence, 3))


def _modelled(scores: Mapping[str, float], exclude_opt_out: bool) -> Classification:
    """The model's best label that needs no score and clears its bar; `other` if none does."""
    for label in sorted(LABELS, key=lambda name: -scores.get(name, 0.0)):
        p = scores.get(label, 0.0)
        if label == "rating" or (label == "opt_out" and exclude_opt_out):
            continue
        if label in ("opt_out", "opt_in") and p < MODEL_ACTION_THRESHOLD:
            continue
        if label == "question" and p < MODEL_QUESTION_THRESHOLD:
            continue
        return Classification(label, None, round(p, 3))
    return Classification("other", None, round(scores.get("other", 0.0), 3))
