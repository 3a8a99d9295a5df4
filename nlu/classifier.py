"""The classifier: the shipped spaCy pipeline loaded once, then text in, Classification out.

Each call runs inside `nlp.memory_zone()`: spaCy otherwise keeps every new word it ever saw
(order numbers, names) in its vocab, and a long-running hub grew by about 45 MB per 100,000
replies (benchmarks/soak.py found it).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from pathlib import Path

import spacy
from spacy.language import Language

from nlu.decide import decide
from nlu.labels import LABELS, Classification, Context, check_context
from nlu.text import fold

log = logging.getLogger("notifyhub.nlu")

#: Where `notifyhub nlu train` writes the model that ships with the package.
DEFAULT_MODEL_DIR = Path(__file__).resolve().parent / "model"
_UNIFORM: dict[str, float] = {label: 1.0 / len(LABELS) for label in LABELS}


#: The model reads at most this many characters, in tokens of at most `_MODEL_TOKEN` chars:
#: spaCy's tokenizer is quadratic on one long run of symbols ("★" * 2000).
_MODEL_CHARS = 600
_MODEL_TOKEN = 40


def model_input(folded: str, context: Context | None) -> str:
    """What the text classifier reads: a context marker, then the (bounded) folded reply."""
    words = " ".join(w[:_MODEL_TOKEN] for w in folded[:_MODEL_CHARS].split())
    return f"ctx_{context or 'none'} {words}"


class ModelMissing(RuntimeError):
    """The trained model directory is absent: run `notifyhub nlu train`."""

    def __init__(self, path: Path) -> None:
        super().__init__(f"no trained model at {path}; run `notifyhub nlu train`")
        self.path = path


class Classifier:
    """Reply classifier over a trained pipeline; load it once and share it (it is read-only)."""

    def __init__(self, model_dir: str | Path | None = None, *, batch_size: int = 512) -> None:
        path = Path(model_dir) if model_dir is not None else DEFAULT_MODEL_DIR
        if not (path / "config.cfg").is_file():
            raise ModelMissing(path)
        started = time.perf_counter()
        self.nlp: Language = spacy.load(path)
        self.batch_size = batch_size
        log.info("loaded reply model from %s in %.2fs", path, time.perf_counter() - started)

    def classify(self, text: str, context: str | None = None) -> Classification:
        """Classify one reply; `context` is the kind of notification it answers, if known."""
        ctx = check_context(context)
        folded = fold(text)
        if not folded:
            return decide(folded, ctx, _UNIFORM)
        with self.nlp.memory_zone():  # forget the words this text added to the vocab (see module doc)
            scores = self._scores(self.nlp(model_input(folded, ctx)).cats)
        return decide(folded, ctx, scores)

    def classify_many(
        self, texts: Sequence[str], contexts: Sequence[str | None] | None = None
    ) -> list[Classification]:
        """Classify a batch in input order, running the model once over all of it (`nlp.pipe`)."""
        if contexts is None:
            contexts = [None] * len(texts)
        if len(contexts) != len(texts):
            raise ValueError(f"{len(texts)} texts but {len(contexts)} contexts")
        ctxs = [check_context(c) for c in contexts]
        folded = [fold(t) for t in texts]
        inputs = (model_input(f, c) for f, c in zip(folded, ctxs, strict=True))
        with self.nlp.memory_zone():
            docs = self.nlp.pipe(inputs, batch_size=self.batch_size)
            return [
                decide(f, c, self._scores(doc.cats) if f else _UNIFORM)
                for f, c, doc in zip(folded, ctxs, docs, strict=True)
            ]

    @staticmethod
    def _scores(cats: dict[str, float]) -> dict[str, float]:
        """The model's label scores as plain floats."""
        return {label: float(cats.get(label, 0.0)) for label in LABELS}
