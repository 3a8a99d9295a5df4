"""Where a contact is, from its phone: `regions.locate`, remembered per number block, for every new contact.

Every path that creates a contact (imports, notifications to a new phone, replies from a new
number, deep links) stores the place, so segments by region or zone and local sending windows
see all contacts alike.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from hub.contacts.regions import Place, locate

NOWHERE = Place(None, None, None)


@lru_cache(maxsize=65536)
def _place_of_block(block: str) -> Place:
    return locate(block + "0" * (12 - len(block)))


def place_of(phone: str | None) -> Place:
    """`locate(phone)`; for +7 numbers remembered per 7-digit block (their data goes no deeper)."""
    if not phone:
        return NOWHERE
    if phone.startswith("+7") and len(phone) == 12:
        return _place_of_block(phone[:9])
    return locate(phone)


def with_place(row: dict[str, Any]) -> dict[str, Any]:
    """A new contact's row (`storage.repos.contacts.contact_row`) with its country, region and zone."""
    place = place_of(row.get("phone"))
    return {**row, "country": place.country, "region": place.region, "timezone": place.timezone}
