"""Labelled replies on disk: the JSONL files in nlu/data that train and evaluate the model."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from nlu.labels import LABELS, Context, Label, check_context

DATA_DIR = Path(__file__).resolve().parent / "data"
#: The examples the model learns from.
TRAIN_FILE = DATA_DIR / "train.jsonl"
#: The held-out split: never trained on; its phrasings come from separate seed phrases.
TEST_FILE = DATA_DIR / "test.jsonl"


@dataclass(frozen=True, slots=True)
class Reply:
    """One labelled reply: what the customer wrote, to what, and what it means."""

    text: str
    label: Label
    rating: int | None = None
    context: Context | None = None
    lang: str = "ru"

    def __post_init__(self) -> None:
        if self.label not in LABELS:
            raise ValueError(f"unknown label {self.label!r} in {self.text!r}")
        if self.rating is not None and not 1 <= self.rating <= 5:
            raise ValueError(f"rating must be 1..5 in {self.text!r}")
        check_context(self.context)


def load_replies(path: str | Path) -> list[Reply]:
    """Read a JSONL file of replies; a bad line raises ValueError naming the line."""
    replies = []
    with Path(path).open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                replies.append(Reply(**json.loads(line)))
            except (TypeError, ValueError) as e:
                raise ValueError(f"{path}:{number}: {e}") from e
    return replies


def dump_replies(replies: Iterable[Reply], path: str | Path) -> int:
    """Write replies as JSONL (UTF-8, one object a line); return how many were written."""
    count = 0
    with Path(path).open("w", encoding="utf-8") as fh:
        for reply in replies:
            fh.write(json.dumps(asdict(reply), ensure_ascii=False) + "\n")
            count += 1
    return count


def iter_texts(replies: Iterable[Reply]) -> Iterator[tuple[str, Context | None]]:
    """The (text, context) pairs of replies, as the classifier takes them."""
    for reply in replies:
        yield reply.text, reply.context
