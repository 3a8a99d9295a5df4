"""Text normalisation: one folded form of a reply for the rules and the model alike.

Customers write "СТОООП", "Cтоп" with a Latin C, keycap digits and control characters;
`fold` maps all of these to one lower-case form with runs of a repeated letter squeezed to
one letter ("стооооп" -> "стоп", and, harmlessly, "рассылка" -> "расылка"). Rule patterns are
squeezed the same way when compiled (`squeeze_pattern`), so they are written naturally.
"""

from __future__ import annotations

import re
import unicodedata

from nlu.spelling import repair

#: Longest reply we look at: the head and the tail of anything longer are kept.
MAX_CHARS = 2000
_TAIL_CHARS = 500

_KEYCAP = re.compile("([0-9#*])\ufe0f?\u20e3")
_REPEATED_LETTER = re.compile(r"([^\W\d_])\1+")
_PATTERN_REPEAT = re.compile(r"(?<!\\)([^\W\d_])\1+")
_SPACES = re.compile(r"\s+")
_WORD = re.compile(r"[^\W\d_]+")
_APOSTROPHES = str.maketrans({"’": "'", "‘": "'", "`": "'", "ʼ": "'", "´": "'"})

# Latin letters that look Cyrillic, and back: "CTOП" is typed with three Latin letters.
_LAT = "aceopxykmthbACEOPXYKMTHB"
_CYR = "асеорхукмтнвАСЕОРХУКМТНВ"
_TO_CYR = str.maketrans(_LAT, _CYR)
_TO_LAT = str.maketrans(_CYR, _LAT)


def clean(text: object) -> str:
    """Make any input a bounded, printable string: never raise on what a customer sends."""
    if not isinstance(text, str):
        text = "" if text is None else str(text)
    if len(text) > MAX_CHARS:
        text = f"{text[: MAX_CHARS - _TAIL_CHARS]} {text[-_TAIL_CHARS:]}"
    text = _KEYCAP.sub(r"\1", text.replace("🔟", "10"))
    text = unicodedata.normalize("NFKC", text)
    text = "".join(ch if _printable(ch) else " " for ch in text)
    return _SPACES.sub(" ", text).strip()


def _printable(ch: str) -> bool:
    """Control and format characters (NUL, BOM, bidi marks) become spaces; emoji stay."""
    return unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Co", "Cn") or ch == "\u200d"


def fold(text: object) -> str:
    """The comparison form: cleaned, lower case, ё as е, one script per word, squeezed, key typos repaired."""
    low = clean(text).translate(_APOSTROPHES).lower().replace("ё", "е")
    low = _WORD.sub(_one_script, low)
    return repair(squeeze(low))


def squeeze(text: str) -> str:
    """Collapse runs of one repeated letter ("пишииите" -> "пишите"); digits are left alone."""
    return _REPEATED_LETTER.sub(r"\1", text)


def squeeze_pattern(pattern: str) -> str:
    """Squeeze the letters of a regex source the way `squeeze` does text, sparing escapes."""
    return _PATTERN_REPEAT.sub(r"\1", pattern)


def _one_script(match: re.Match[str]) -> str:
    """Rewrite a mixed Latin/Cyrillic word in the script of its letters that have no twin."""
    word = match.group(0)
    cyr = sum(1 for ch in word if "а" <= ch <= "я" or ch in "ёЁ" or "А" <= ch <= "Я")
    if cyr == 0 or cyr == len(word):
        return word
    only_cyr = any(ch not in _CYR for ch in word if "а" <= ch.lower() <= "я")
    only_lat = any(ch not in _LAT for ch in word if "a" <= ch.lower() <= "z")
    if only_cyr != only_lat:
        return word.translate(_TO_CYR) if only_cyr else word.translate(_TO_LAT)
    return word.translate(_TO_CYR) if cyr * 2 >= len(word) else word.translate(_TO_LAT)


def words(folded: str) -> list[str]:
    """The letter-only words of a folded text."""
    return _WORD.findall(folded)
