"""Build nlu/data/train.jsonl and test.jsonl from the hand-written seeds, deterministically.

    python -m nlu.data.generate

Every fourth seed phrase (and every fourth rating frame and score) is held out, so the test
split contains phrasings the model never saw. Each seed is written as typed, then in a few
variants customers produce: other casing, stretched letters, a typo, a greeting or a sign-off,
no final punctuation. Contexts are drawn per label with a fixed seed.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator, Sequence
from pathlib import Path

from nlu.data.seeds_actions import OPT_IN, OPT_OUT
from nlu.data.seeds_replies import OTHER, QUESTION, RATING_FRAMES, SCORES, Seed
from nlu.dataset import TEST_FILE, TRAIN_FILE, Reply, dump_replies
from nlu.labels import CONTEXTS, Context, Label
from nlu.text import fold

SEED = 20240605
TRAIN_VARIANTS = 8
TEST_VARIANTS = 5
_VOWELS = set("аеиоуыэюяaeiouy")
_PREFIX = {
    "ru": ["Здравствуйте! ", "Добрый день, ", "Ну ", "Слушайте, ", "Алло, ", "Девушка, "],
    "en": ["Hi, ", "Hello. ", "Hey ", "Hi there, "],
    "tr": ["Zdravstvuyte, ", "Privet ", "Dobryi den ", "Allo "],
}
_SUFFIX_CALM = {
    "ru": [" пожалуйста", " спасибо", "!", ".", " 🙏", " 🙂", ")", " ))"],
    "en": [" please", " thanks", "!", ".", " 🙂", " thx"],
    "tr": [" pozhaluista", " spasibo", "!", ")", " 🙏"],
}
_SUFFIX_ANGRY = {
    "ru": ["!!!", " 😡", " 🤬", "!", ".", " пожалуйста", " уже"],
    "en": ["!!!", " 😡", "!", ".", " please", " now"],
    "tr": ["!!!", " 😡", "!", " pozhaluista", " uzhe"],
}
_LONE_CONTEXTS: list[Context | None] = ["survey", "survey", "survey", None]
_SCORE_CONTEXTS: list[Context | None] = ["survey", "survey", "delivery", "order_status", "appointment", None]
_MENU_CONTEXTS: list[Context] = ["delivery", "appointment", "payment", "order_status", "promo"]
_CONTEXT_WEIGHTS: dict[Label, dict[Context | None, float]] = {
    "opt_out": {
        "promo": 4,
        None: 2,
        "survey": 1,
        "delivery": 1,
        "order_status": 1,
        "payment": 1,
        "appointment": 1,
    },
    "opt_in": {"promo": 4, None: 3, "survey": 1, "delivery": 1, "order_status": 1},
    "question": {
        "delivery": 3,
        "order_status": 3,
        "payment": 2,
        "appointment": 2,
        "promo": 2,
        None: 2,
        "survey": 1,
    },
    "other": {c: 1 for c in (*CONTEXTS, None)},
}


def held_out(index: int) -> bool:
    """Every fourth seed (index % 4 == 1) belongs to the test split only."""
    return index % 4 == 1


def _context(rng: random.Random, label: Label) -> Context | None:
    """Draw the notification context a reply of this label answers."""
    weights = _CONTEXT_WEIGHTS[label]
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _variant(rng: random.Random, lang: str, text: str, label: Label) -> str:
    """One way a customer might type the seed: casing, stretching, a typo, extras."""
    if rng.random() < 0.2 and text[-1:] in "?!.":
        text = text.rstrip("?!.")
    if rng.random() < 0.2:
        text = rng.choice(_PREFIX[lang]) + text[:1].lower() + text[1:]
    if rng.random() < 0.25:
        suffixes = _SUFFIX_ANGRY if label == "opt_out" else _SUFFIX_CALM
        text += rng.choice(suffixes[lang])
    if rng.random() < 0.12:
        text = _stretch(rng, text)
    if rng.random() < 0.06:
        text = _typo(rng, text)
    roll = rng.random()
    if roll < 0.15:
        return text.upper()
    return text.lower() if roll < 0.5 else text


def _stretch(rng: random.Random, text: str) -> str:
    """Repeat one vowel of one word, as in "пожааалуйста" or "СТОООП"."""
    spots = [i for i, ch in enumerate(text) if ch.lower() in _VOWELS]
    if not spots:
        return text
    i = rng.choice(spots)
    return text[:i] + text[i] * rng.randint(3, 5) + text[i + 1 :]


def _typo(rng: random.Random, text: str) -> str:
    """Swap two neighbouring letters inside a longer word."""
    spots = [i for i in range(1, len(text) - 2) if text[i : i + 2].isalpha() and text[i - 1].isalpha()]
    if not spots:
        return text
    i = rng.choice(spots)
    return text[:i] + text[i + 1] + text[i] + text[i + 2 :]


def _expand(rng: random.Random, seeds: Sequence[Seed], label: Label, test: bool) -> Iterator[Reply]:
    """Variants of the seeds that fall in one split."""
    for index, seed in enumerate(seeds):
        if held_out(index) != test:
            continue
        lang, text = seed[0], seed[1]
        rating = seed[2] if len(seed) == 3 else None
        for n in range(TEST_VARIANTS if test else TRAIN_VARIANTS):
            shown = text if n == 0 else _variant(rng, lang, text, label)
            yield Reply(shown, label, rating, _context(rng, label), lang)


def _ratings(rng: random.Random, test: bool) -> Iterator[Reply]:
    """Score expressions in frames; a lone bare number outside a survey is `other`."""
    frames = [(i, f) for i, f in enumerate(RATING_FRAMES)]
    for index, (lang, score, rating, bare) in enumerate(SCORES):
        fitting = [(i, f) for i, (fl, f) in frames if fl == lang]
        picks = rng.sample(fitting, k=min(len(fitting), 10))
        if test:
            picks = [(i, f) for i, f in picks if held_out(index) or held_out(i)][:3]
        else:
            picks = [(i, f) for i, f in picks if not (held_out(index) or held_out(i))]
        for _frame_index, frame in picks:
            text = frame.format(s=score)
            if rng.random() < 0.5:
                text = _variant(rng, lang, text, "rating")
            lone = bare and not re.search(r"\w", frame.replace("{s}", ""))
            context = rng.choice(_LONE_CONTEXTS if lone else _SCORE_CONTEXTS)
            yield Reply(text, "rating", rating, context, lang)
        if bare:
            for menu in rng.sample(_MENU_CONTEXTS, k=2):
                if held_out(index) == test:
                    yield Reply(score, "other", None, menu, lang)


def build_split(test: bool) -> list[Reply]:
    """All replies of one split, in a fixed order."""
    rng = random.Random(SEED + int(test))
    replies: list[Reply] = []
    groups: list[tuple[Sequence[Seed], Label]] = [
        (OPT_OUT, "opt_out"),
        (OPT_IN, "opt_in"),
        (QUESTION, "question"),
        (OTHER, "other"),
    ]
    for seeds, label in groups:
        replies.extend(_expand(rng, seeds, label, test))
    replies.extend(_ratings(rng, test))
    return replies


def _dedupe(replies: list[Reply], exclude: set[str]) -> list[Reply]:
    """Drop repeats (by folded text and context) and anything whose text is in `exclude`."""
    seen: set[tuple[str, str | None]] = set()
    out = []
    for reply in replies:
        folded = fold(reply.text)
        key = (folded, reply.context if len(folded) <= 6 else None)
        if key in seen or folded in exclude:
            continue
        seen.add(key)
        out.append(reply)
    return out


def main(train_path: Path = TRAIN_FILE, test_path: Path = TEST_FILE) -> None:
    """Write both splits; no test text is identical (after folding) to a training text."""
    train = _dedupe(build_split(test=False), exclude=set())
    test = _dedupe(build_split(test=True), exclude={fold(r.text) for r in train})
    print(f"train: {dump_replies(train, train_path)} replies -> {train_path}")
    print(f"test: {dump_replies(test, test_path)} replies -> {test_path}")


if __name__ == "__main__":
    main()
