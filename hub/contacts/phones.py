"""Phone numbers: parsed to E.164 with `phonenumbers`, and masked wherever they are logged."""

from __future__ import annotations

import phonenumbers

from bots.privacy import mask_phone
from hub.errors import RequestError

__all__ = ["mask_phone", "normalize_phone"]


def normalize_phone(raw: str, region: str = "RU") -> str:
    """E.164 form of a phone number, or a `bad_phone` error naming what was wrong."""
    try:
        parsed = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException as e:
        raise RequestError("bad_phone", f"{mask_phone(raw)!r} is not a phone number: {e}") from e
    if not phonenumbers.is_possible_number(parsed) or not phonenumbers.is_valid_number(parsed):
        raise RequestError("bad_phone", f"{mask_phone(raw)!r} is not a valid phone number")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
