"""The classification contract shared with the hub: labels, reply contexts, the result value."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal, get_args

Label = Literal["opt_out", "opt_in", "question", "rating", "other"]
Context = Literal["survey", "promo", "delivery", "order_status", "payment", "appointment"]

#: Labels in a fixed order: model outputs, reports and the confusion matrix use it.
LABELS: Final[tuple[Label, ...]] = get_args(Label)
#: Kinds of notification a reply can answer (the template's context tag).
CONTEXTS: Final[tuple[Context, ...]] = get_args(Context)


@dataclass(frozen=True, slots=True)
class Classification:
    """What a reply means: its label, the 1..5 score it gives (if any) and how sure we are."""

    label: Label
    rating: int | None = None
    confidence: float = 1.0

    def __post_init__(self) -> None:
        if self.label not in LABELS:
            raise ValueError(f"unknown label {self.label!r}")
        if self.rating is not None and not 1 <= self.rating <= 5:
            raise ValueError(f"rating must be 1..5, got {self.rating!r}")

    def to_json(self) -> dict[str, str | int | None]:
        """The public wire form (`notifyhub classify --jsonl`): label and rating only."""
        return {"label": self.label, "rating": self.rating}


def check_context(context: str | None) -> Context | None:
    """Validate a reply context; an unknown tag is a caller bug, so it raises ValueError."""
    if context is None or context == "":
        return None
    for known in CONTEXTS:
        if context == known:
            return known
    raise ValueError(f"unknown context {context!r}; expected one of {', '.join(CONTEXTS)}")
