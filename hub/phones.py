"""Phone numbers: parsed to E.164 with `phonenumbers`, and masked wherever they are logged."""

from __future__ import annotations

import phonenumbers

from hub.errors import RequestError


def normalize_phone(raw: str, region: str = "RU") -> str:
    """E.164 form of a phone number, or a `bad_phone` error naming what was wrong."""
    try:
        parsed = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException as e:
        raise RequestError("bad_phone", f"{mask_phone(raw)!r} is not a phone number: {e}") from e
    if not phonenumbers.is_possible_number(parsed) or not phonenumbers.is_valid_number(parsed):
        raise RequestError("bad_phone", f"{mask_phone(raw)!r} is not a valid phone number")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def mask_phone(phone: str | None) -> str:
    """+79991234567 -> +7999***4567: enough to tell customers apart in logs, not to call them."""
    if not phone:
        return "-"
    if len(phone) <= 6:
        return "***"
    return phone[:5] + "***" + phone[-4:]
