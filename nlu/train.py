"""Training: build the blank spaCy pipeline, fit its text classifier, write nlu/model.

The pipeline is a blank Russian tokenizer (it splits Latin-script English and translit the
same way) and a bag-of-words `textcat` over unigrams and bigrams of the folded text with a
context marker. Bag-of-words keeps the model small (about a megabyte) and fast enough for the
inbound path; the rules in `nlu.rules` and `nlu.ratings` cover what it cannot learn.
"""

from __future__ import annotations

import logging
import random
import shutil
from collections.abc import Sequence
from pathlib import Path

import spacy
from spacy.language import Language
from spacy.training import Example
from thinc.api import fix_random_seed

from nlu.classifier import DEFAULT_MODEL_DIR, model_input
from nlu.dataset import Reply
from nlu.labels import LABELS
from nlu.text import fold

log = logging.getLogger("notifyhub.nlu")

#: Hash buckets of the bag-of-words layer: 2**16 keeps the model near one megabyte.
BOW_LENGTH = 2**16
BATCH_SIZE = 32


def build_pipeline() -> Language:
    """A blank pipeline with an untrained exclusive-class text classifier for our labels."""
    nlp = spacy.blank("ru")
    nlp.meta.update({"name": "notifyhub_replies", "version": "1.0.0"})
    textcat = nlp.add_pipe(
        "textcat",
        config={
            "model": {
                "@architectures": "spacy.TextCatBOW.v3",
                "exclusive_classes": True,
                "ngram_size": 2,
                "no_output_layer": False,
                "length": BOW_LENGTH,
            }
        },
    )
    for label in LABELS:
        textcat.add_label(label)  # type: ignore[attr-defined]
    return nlp


def to_examples(nlp: Language, replies: Sequence[Reply]) -> list[Example]:
    """spaCy training examples: the model input of each reply and its one-hot label."""
    return [
        Example.from_dict(
            nlp.make_doc(model_input(fold(r.text), r.context)),
            {"cats": {label: float(label == r.label) for label in LABELS}},
        )
        for r in replies
    ]


def train(
    replies: Sequence[Reply],
    output_dir: str | Path = DEFAULT_MODEL_DIR,
    *,
    epochs: int = 15,
    seed: int = 7,
) -> Path:
    """Fit the text classifier on `replies` deterministically and save the pipeline."""
    fix_random_seed(seed)
    nlp = build_pipeline()
    examples = to_examples(nlp, replies)
    optimizer = nlp.initialize(lambda: examples)
    shuffle = random.Random(seed)
    for epoch in range(epochs):
        order = list(examples)
        shuffle.shuffle(order)
        losses: dict[str, float] = {}
        for start in range(0, len(order), BATCH_SIZE):
            nlp.update(order[start : start + BATCH_SIZE], sgd=optimizer, drop=0.1, losses=losses)
        log.info("epoch %d loss %.4f", epoch + 1, losses.get("textcat", 0.0))
    out = Path(output_dir)
    if out.exists():
        shutil.rmtree(out)
    nlp.to_disk(out)
    return out
