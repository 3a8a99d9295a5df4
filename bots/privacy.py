"""What of a customer may appear in logs: phone numbers only masked (a product requirement)."""

from __future__ import annotations


def mask_phone(phone: str | None) -> str:
    """+79991234567 -> +7999***4567: enough to tell customers apart in logs, not to call them."""
    if not phone:
        return "-"
    if len(phone) <= 6:
        return "***"
    return phone[:5] + "***" + phone[-4:]
