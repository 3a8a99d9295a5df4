"""Evaluation on the held-out split: per-label precision/recall/F1, ratings, confusion."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from nlu.classifier import Classifier
from nlu.dataset import Reply
from nlu.labels import LABELS, Classification, Label


@dataclass(frozen=True, slots=True)
class LabelScore:
    """Precision, recall and F1 of one label, with its number of gold examples."""

    precision: float
    recall: float
    f1: float
    support: int


@dataclass(frozen=True)
class Report:
    """Everything `notifyhub nlu eval` prints, and the targets the tests assert."""

    per_label: dict[str, LabelScore]
    macro_f1: float
    rating_accuracy: float
    rating_support: int
    confusion: dict[str, dict[str, int]]
    total: int
    errors: list[tuple[Reply, Classification]] = field(default_factory=list)

    def failed_targets(self) -> list[str]:
        """The issue-5 targets this report misses (an empty list means all are met)."""
        out = self.per_label["opt_out"]
        checks = [
            (out.precision >= 0.98, f"opt_out precision {out.precision:.3f} < 0.98"),
            (out.recall >= 0.95, f"opt_out recall {out.recall:.3f} < 0.95"),
            (self.macro_f1 >= 0.90, f"macro F1 {self.macro_f1:.3f} < 0.90"),
            (self.rating_accuracy >= 0.95, f"rating accuracy {self.rating_accuracy:.3f} < 0.95"),
        ]
        return [message for ok, message in checks if not ok]


def evaluate(classifier: Classifier, replies: Sequence[Reply]) -> Report:
    """Classify the replies in one batch and score the result against their gold labels."""
    predicted = classifier.classify_many([r.text for r in replies], [r.context for r in replies])
    confusion: dict[str, dict[str, int]] = {gold: dict.fromkeys(LABELS, 0) for gold in LABELS}
    for reply, guess in zip(replies, predicted, strict=True):
        confusion[reply.label][guess.label] += 1
    per_label: dict[str, LabelScore] = {label: _score(confusion, label) for label in LABELS}
    rated = [(r, p) for r, p in zip(replies, predicted, strict=True) if r.rating is not None]
    correct = sum(1 for r, p in rated if p.rating == r.rating)
    errors = [
        (r, p)
        for r, p in zip(replies, predicted, strict=True)
        if p.label != r.label or (r.rating is not None and p.rating != r.rating)
    ]
    return Report(
        per_label=per_label,
        macro_f1=sum(s.f1 for s in per_label.values()) / len(LABELS),
        rating_accuracy=correct / len(rated) if rated else 1.0,
        rating_support=len(rated),
        confusion=confusion,
        total=len(replies),
        errors=errors,
    )


def _score(confusion: dict[str, dict[str, int]], label: Label) -> LabelScore:
    """Precision, recall and F1 of one label from the confusion counts."""
    tp = confusion[label][label]
    predicted = sum(row[label] for row in confusion.values())
    support = sum(confusion[label].values())
    precision = tp / predicted if predicted else 0.0
    recall = tp / support if support else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return LabelScore(precision, recall, f1, support)


def format_report(report: Report) -> str:
    """A plain-text table for the terminal and the README."""
    lines = [f"held-out replies: {report.total}", "", "label      precision  recall  f1     n"]
    for label, s in report.per_label.items():
        lines.append(f"{label:<10} {s.precision:9.3f}  {s.recall:6.3f}  {s.f1:5.3f}  {s.support:4d}")
    lines += [
        f"macro F1   {report.macro_f1:.3f}",
        f"rating exact accuracy {report.rating_accuracy:.3f} (n={report.rating_support})",
        "",
        "confusion (rows gold, columns predicted)",
        "gold\\pred  " + " ".join(f"{label:>8}" for label in LABELS),
    ]
    for gold in LABELS:
        cells = " ".join(f"{report.confusion[gold][pred]:8d}" for pred in LABELS)
        lines.append(f"{gold:<10} {cells}")
    return "\n".join(lines)
