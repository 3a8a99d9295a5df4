"""Pure SMS text rules: GSM-7/UCS-2 segment counting, sender names, masked phone numbers.

One segment holds 160 GSM-7 units or 70 UCS-2 units; a multipart message loses room to the
concatenation header (153 / 67 per part). GSM-7 extension characters (`€ [ ] { } ^ ~ | \\`
and form feed) take an escape plus the character: two units, never split across parts. Any
character outside GSM-7 (every Cyrillic letter, emoji) switches the whole text to UCS-2, where
an emoji is a surrogate pair: two units that are never split either.

    >>> count_segments("a" * 160), count_segments("a" * 161), count_segments("я" * 71)
    (1, 2, 2)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")

Encoding = Literal["gsm7", "ucs2"]
_LIMITS: dict[Encoding, tuple[int, int]] = {"gsm7": (160, 153), "ucs2": (70, 67)}
_ALNUM_SENDER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._&-]{0,10}$")
_NUMERIC_SENDER = re.compile(r"^\+?[0-9]{1,15}$")


@dataclass(frozen=True)
class SegmentInfo:
    """How a text travels: its encoding, billable parts and total units."""

    encoding: Encoding
    segments: int
    units: int


def encoding_for(text: str) -> Encoding:
    """GSM-7 when every character is in the GSM 03.38 tables, else UCS-2."""
    ok = all(ch in GSM7_BASIC or ch in GSM7_EXTENSION for ch in text)
    return "gsm7" if ok else "ucs2"


def char_units(ch: str, encoding: Encoding) -> int:
    """Units one character takes: escapes and surrogate pairs count two."""
    if encoding == "gsm7":
        return 2 if ch in GSM7_EXTENSION else 1
    return 2 if ord(ch) > 0xFFFF else 1


def split_segments(text: str) -> list[str]:
    """The parts a multipart SMS is cut into, never splitting an escape or surrogate pair."""
    encoding = encoding_for(text)
    single, multi = _LIMITS[encoding]
    if sum(char_units(ch, encoding) for ch in text) <= single:
        return [text]
    parts: list[str] = []
    current, used = "", 0
    for ch in text:
        cost = char_units(ch, encoding)
        if used + cost > multi:
            parts.append(current)
            current, used = "", 0
        current += ch
        used += cost
    parts.append(current)
    return parts


def segment_info(text: str) -> SegmentInfo:
    """Encoding, segment count and units of `text` (an empty text is still one SMS)."""
    encoding = encoding_for(text)
    units = sum(char_units(ch, encoding) for ch in text)
    return SegmentInfo(encoding, len(split_segments(text)), units)


def count_segments(text: str) -> int:
    """Billable SMS parts for `text`."""
    return segment_info(text).segments


def validate_sender(sender: str) -> str:
    """An alphanumeric sender name (<= 11 chars, one letter at least) or a number (<= 15 digits)."""
    if _NUMERIC_SENDER.match(sender):
        return sender
    if _ALNUM_SENDER.match(sender) and any(ch.isalpha() for ch in sender):
        return sender
    raise ValueError(f"invalid SMS sender {sender!r}: use up to 11 latin letters/digits or up to 15 digits")
