"""GSM-7 / UCS-2 segment counting edges, sender validation and phone masking (pure)."""

from __future__ import annotations

import pytest

from bots.segments import count_segments, segment_info, split_segments, validate_sender
from hub.contacts.phones import mask_phone


@pytest.mark.parametrize(
    ("text", "segments", "encoding"),
    [
        ("", 1, "gsm7"),
        ("a" * 160, 1, "gsm7"),
        ("a" * 161, 2, "gsm7"),
        ("a" * 306, 2, "gsm7"),
        ("a" * 307, 3, "gsm7"),
        ("€" * 80, 1, "gsm7"),
        ("a" * 159 + "€", 2, "gsm7"),
        ("я" * 70, 1, "ucs2"),
        ("я" * 71, 2, "ucs2"),
        ("я" * 134, 2, "ucs2"),
        ("я" * 135, 3, "ucs2"),
        ("a" * 69 + "😀", 2, "ucs2"),
        ("a" * 68 + "😀", 1, "ucs2"),
    ],
)
def test_segment_counts(text: str, segments: int, encoding: str) -> None:
    info = segment_info(text)
    assert (info.segments, info.encoding) == (segments, encoding)
    assert count_segments(text) == segments


def test_escape_never_split_across_parts() -> None:
    parts = split_segments("a" * 152 + "€" + "b" * 10)
    assert parts[0] == "a" * 152 and parts[1].startswith("€")


def test_surrogate_pair_never_split() -> None:
    parts = split_segments("я" * 66 + "😀" + "я" * 10)
    assert parts[0] == "я" * 66 and parts[1].startswith("😀")
    assert "".join(parts) == "я" * 66 + "😀" + "я" * 10


@pytest.mark.parametrize("sender", ["NotifyHub", "Shop24", "79001234567", "+123456789012345", "A.B-C"])
def test_valid_senders(sender: str) -> None:
    assert validate_sender(sender) == sender


@pytest.mark.parametrize("sender", ["TwelveChars1", "1234567890123456", "Магазин", "", "Shop!"])
def test_invalid_senders(sender: str) -> None:
    with pytest.raises(ValueError):
        validate_sender(sender)


def test_mask_phone() -> None:
    assert mask_phone("+79990000001") == "+7999***0001"
