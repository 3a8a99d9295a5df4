"""Contact attributes, sans-IO: names, the four types, inferring a type and checking a value against one.

A client's attributes are learned: the first value seen for a name fixes its type (from an import
or a PATCH), and a later value of another type is an error for that row or field. Values are kept
in JSON as they compare in SQL: strings, numbers, booleans, and dates as ISO 8601 strings
(`2026-12-03` for a day, `2026-12-03T19:00:00Z` for an instant, always UTC).

    >>> infer("2024-05-01")
    ('date', '2024-05-01')
    >>> coerce("12,5", "number", "average_check")
    12.5
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any

from hub.errors import RequestError
from storage.filters import AttributeType

TYPES: tuple[AttributeType, ...] = ("string", "number", "date", "boolean")
#: Columns and fields with a meaning of their own: never attribute names.
RESERVED = frozenset(
    {
        "id", "phone", "name", "groups", "timezone", "marketing_consent", "consent_source", "consent_at",
        "vk", "ok", "telegram", "last_active_at", "country", "region", "opted_out", "ownership",
        "identities", "attributes", "created_at", "thread_id",
    }
)  # fmt: skip
MAX_STRING = 1000
_NAME = re.compile(r"^[^\W\d]\w{0,63}$")
_NUMBER = re.compile(r"^-?(0|[1-9]\d{0,14})([.,]\d+)?$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$")
_TRUE, _FALSE = {"true", "1", "yes", "да"}, {"false", "0", "no", "нет"}
#: Words that make a first value a boolean (1 and 0 are numbers until the type is known).
_WORDS = (_TRUE | _FALSE) - {"1", "0"}


@lru_cache(maxsize=4096)
def column_name(raw: str) -> str:
    """A column or key as an attribute name: trimmed, lower case, other characters as `_`."""
    return re.sub(r"[^\w]+", "_", raw.strip().lower()).strip("_")


def check_name(name: str) -> str:
    """`name` if it can be an attribute (a letter, then letters, digits, `_`; at most 64), else 422."""
    if not _NAME.match(name) or name in RESERVED:
        raise RequestError(
            "invalid_attribute", f"{name or '(empty)'}: an attribute name is a letter then letters, digits, _"
        )
    return name


def infer(value: Any) -> tuple[AttributeType, Any]:
    """The type a first value gives its attribute, and the value as stored."""
    if isinstance(value, bool):
        return "boolean", value
    if isinstance(value, int | float):
        return "number", _finite(value)
    if isinstance(value, datetime | date):
        return "date", normal_date(value)
    text = str(value).strip()
    if text.lower() in _WORDS:
        return "boolean", text.lower() in _TRUE
    if _NUMBER.match(text):
        return "number", _finite(float(text.replace(",", ".")))
    if _DATE.match(text):
        try:
            return "date", normal_date(text)
        except ValueError:
            pass
    return "string", _string(text)


def coerce(value: Any, kind: AttributeType, field: str) -> Any:
    """`value` as an attribute of type `kind` (as stored), or a 422 naming `field`."""
    try:
        return _COERCE[kind](value)
    except (ValueError, TypeError) as e:
        raise RequestError("invalid_attribute_value", f"{field}: {_HINT[kind]} ({e})") from e


def typed(
    values: Mapping[str, Any], known: Mapping[str, AttributeType], where: str = "", strict: bool = False
) -> tuple[dict[str, Any], dict[str, AttributeType]]:
    """Values checked against known types (unknown ones inferred); returns (values, newly learned types).

    A None or empty value means "no value" and is returned as None (a PATCH removes it, an import skips it).
    `strict` (JSON bodies) wants the JSON type itself: 5 is not text there, "5" not a number.
    """
    out: dict[str, Any] = {}
    learned: dict[str, AttributeType] = {}
    for name, raw in values.items():
        check_name(name)
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            out[name] = None
            continue
        kind = known.get(name) or learned.get(name)
        if kind is None:
            learned[name], out[name] = infer(raw)
        else:
            if strict and (not isinstance(raw, _JSON_TYPES[kind]) or (kind == "number" and raw is True)):
                raise RequestError("invalid_attribute_value", f"{where}{name}: {_HINT[kind]}")
            out[name] = coerce(raw, kind, f"{where}{name}")
    return out, learned


def normal_date(value: Any) -> str:
    """A date as stored: `YYYY-MM-DD` for a day, else the UTC instant `YYYY-MM-DDTHH:MM:SSZ`."""
    if isinstance(value, datetime):
        at = value if value.tzinfo else value.replace(tzinfo=UTC)
        return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, date):
        return value.isoformat()
    text = str(value).strip()
    if not _DATE.match(text):
        raise ValueError(f"not an ISO 8601 date: {text[:40]!r}")
    if len(text) == 10:
        return date.fromisoformat(text).isoformat()
    return normal_date(datetime.fromisoformat(text.replace("Z", "+00:00")))


def instant(ts: float) -> str:
    """UNIX seconds as a stored date (for comparisons such as `older_than`)."""
    return normal_date(datetime.fromtimestamp(ts, UTC))


def _finite(number: float) -> float | int:
    if number != number or number in (float("inf"), float("-inf")):
        raise ValueError("not a finite number")
    return int(number) if float(number).is_integer() and abs(number) < 2**53 else float(number)


def _string(value: Any) -> str:
    if isinstance(value, bool | dict | list):
        raise TypeError(f"not text but {type(value).__name__}")
    text = str(value).strip()
    if len(text) > MAX_STRING:
        raise ValueError(f"longer than {MAX_STRING} characters")
    return text


def _number(value: Any) -> float | int:
    if isinstance(value, bool):
        raise TypeError("true/false is not a number")
    if isinstance(value, int | float):
        return _finite(value)
    text = str(value).strip()
    if not _NUMBER.match(text):
        raise ValueError(f"not a number: {text[:40]!r}")
    return _finite(float(text.replace(",", ".")))


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE | _FALSE:
        return text in _TRUE
    raise ValueError(f"not true/false: {text[:40]!r}")


def _date(value: Any) -> str:
    if isinstance(value, bool | int | float):
        raise TypeError("a number is not a date")
    return normal_date(value)


_COERCE = {"string": _string, "number": _number, "boolean": _boolean, "date": _date}
_JSON_TYPES: dict[str, type | tuple[type, ...]] = {
    "string": str,
    "number": (int, float),
    "boolean": bool,
    "date": str,
}
_HINT = {
    "string": "text expected",
    "number": "a number expected",
    "boolean": "true or false expected",
    "date": "an ISO 8601 date expected (2026-12-03 or 2026-12-03T10:00:00Z)",
}


def as_type(kind: str) -> AttributeType:
    """A stored type name as the AttributeType literal."""
    for known in TYPES:
        if known == kind:
            return known
    raise ValueError(f"unknown attribute type {kind!r}")
