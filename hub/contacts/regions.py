"""Where a phone number is: country, region and time zone, from `phonenumbers`' offline data (pure).

Russian mobile ranges are not tied to one region, so such a number maps to many zones; then the
contact's own `timezone` attribute decides, else the client's default zone.

    >>> locate("+73832123456").timezone
    'Asia/Novosibirsk'
"""

from __future__ import annotations

from dataclasses import dataclass

import phonenumbers
from phonenumbers import geocoder, timezone

_UNKNOWN = "Etc/Unknown"


@dataclass(frozen=True)
class Place:
    """What a number says of where its owner is; `timezone` is None where it names several."""

    country: str | None
    region: str | None
    timezone: str | None


def locate(phone: str) -> Place:
    """Country code (ISO 3166), region name (Russian) and the single time zone, where the number tells."""
    try:
        parsed = phonenumbers.parse(phone, None)
    except phonenumbers.NumberParseException:
        return Place(None, None, None)
    country = phonenumbers.region_code_for_number(parsed)
    zones = [z for z in timezone.time_zones_for_number(parsed) if z != _UNKNOWN]
    region = geocoder.description_for_number(parsed, "ru") or None
    if (
        region is not None
        and country is not None
        and region == geocoder.country_name_for_number(parsed, "ru")
    ):
        region = None  # only the country: no region
    return Place(country, region, zones[0] if len(zones) == 1 else None)
