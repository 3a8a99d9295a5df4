"""Contact imports, sans-IO: rows in, validated contacts and per-row errors out.

Files are read by `hub.contacts.import_formats` (CSV, XLSX, JSON); every row then goes through
`RowChecker`, which knows the client's attribute types and remembers the phones and identities
seen so far (a repeat is an error on the later row). Columns:

    phone              required; parsed with `phonenumbers` (Russian numbers may omit +7)
    name               the customer's name
    vk, ok, telegram   the customer's VK user id, OK user id, Telegram chat id (also vk_user_id, ...)
    marketing_consent  true/false (1/0, yes/no, да/нет); empty leaves the stored consent as it is
    consent_source     where the consent was given (a web form, the shop, ...); default `import`
    last_active_at     when the customer was last active on those messengers (ISO 8601 or UNIX seconds)
    timezone           the customer's IANA zone (Asia/Yekaterinburg); else the number's, else the client's
    groups             group names separated by `;` or `|` (groups are created as needed)
    anything else      an attribute: string, number, date (ISO 8601) or boolean, typed by its first value

A file that cannot be read at all (not CSV/XLSX/JSON, no phone column, a column twice, no rows)
is refused as a whole; otherwise every bad row gets an error with its line (CSV, XLSX) or index
(JSON) and the good rows go ahead.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from hub.contacts.attributes import column_name, typed
from hub.contacts.import_formats import read_items
from hub.contacts.phones import normalize_phone
from hub.contacts.places import NOWHERE, place_of
from hub.contacts.regions import Place
from hub.contacts.segment_filter import valid_zone
from hub.errors import RequestError
from storage.filters import AttributeType

FIELDS = (
    "phone", "name", "vk", "ok", "telegram", "marketing_consent", "consent_source", "last_active_at",
    "timezone", "groups",
)  # fmt: skip
_ALIASES = {"vk_user_id": "vk", "ok_user_id": "ok", "telegram_chat_id": "telegram"}
_IDS = {
    "vk": re.compile(r"^\d{1,19}$"),
    "ok": re.compile(r"^\S{1,64}$"),
    "telegram": re.compile(r"^-?\d{1,19}$"),
}
_ID_HINT = {
    "vk": "a VK user id is digits",
    "ok": "an OK user id without spaces",
    "telegram": "a chat id is digits",
}
_TRUE, _FALSE = {"true", "1", "yes", "y", "да"}, {"false", "0", "no", "n", "нет"}
MAX_GROUPS = 50


@dataclass(frozen=True)
class ImportRow:
    """One valid row: a phone, its messenger identities and what else the client knows."""

    index: int
    line: int | None
    phone: str
    identities: dict[str, str]
    marketing_consent: bool | None = None
    last_active_at: float | None = None
    name: str | None = None
    #: Attribute values as stored; None removes nothing (an empty cell leaves the stored value).
    attributes: dict[str, Any] = field(default_factory=dict)
    groups: tuple[str, ...] = ()
    timezone: str | None = None
    consent_source: str | None = None
    place: Place = NOWHERE


@dataclass(frozen=True)
class RowError:
    """Why one row was not imported (`index` counts data rows from 0, `line` is the file line)."""

    index: int
    line: int | None
    code: str
    message: str

    def view(self) -> dict[str, Any]:
        """As the API and the CLI report it."""
        return {"index": self.index, "line": self.line, "code": self.code, "message": self.message}


@dataclass
class Parsed:
    """The valid rows and the errors of the others."""

    rows: list[ImportRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)


class RowChecker:
    """Validates rows one by one; learns attribute types from first values and catches repeats."""

    def __init__(self, now: float, types: Mapping[str, AttributeType] | None = None) -> None:
        self.now = now
        self.types: dict[str, AttributeType] = dict(types or {})
        #: Types first seen in this file, not yet saved (the importer saves and clears them).
        self.learned: dict[str, AttributeType] = {}
        self._phones: dict[int, int] = {}
        self._idents: dict[tuple[str, str], int] = {}

    def check(self, index: int, line: int | None, raw: Any) -> ImportRow | RowError:
        """One row, or why it cannot be imported."""
        try:
            row = self._row(index, line, raw)
            self._unique(row)
        except RequestError as e:
            return RowError(index, line, e.code, e.message)
        return row

    def _row(self, index: int, line: int | None, raw: Any) -> ImportRow:
        if isinstance(raw, str):
            raise RequestError("invalid_row", raw)
        if not isinstance(raw, Mapping):
            raise RequestError("invalid_row", "each contact must be an object")
        values: dict[str, Any] = {}
        for key, value in raw.items():
            name = column_name(str(key))
            values[_ALIASES.get(name, name)] = value
        phone = _text(values.get("phone"), "phone")
        if not phone:
            raise RequestError("missing_field", "phone: this field is required")
        identities = {}
        for channel in ("vk", "ok", "telegram"):
            value = _text(values.get(channel), channel)
            if value and not _IDS[channel].match(value):
                raise RequestError(f"invalid_{channel}", f"{channel}: {_ID_HINT[channel]}")
            if value:
                identities[channel] = value
        e164 = _phone(phone)
        attributes = self._attributes({k: v for k, v in values.items() if k not in FIELDS})
        return ImportRow(
            index,
            line,
            e164,
            identities,
            _consent(values.get("marketing_consent")),
            _time(values.get("last_active_at"), self.now),
            _text(values.get("name"), "name")[:200] or None,
            attributes,
            _groups(values.get("groups")),
            _zone(values.get("timezone")),
            _text(values.get("consent_source"), "consent_source")[:64] or None,
            place_of(e164),
        )

    def _attributes(self, values: dict[str, Any]) -> dict[str, Any]:
        checked, learned = typed(values, self.types)
        self.types.update(learned)
        self.learned.update(learned)
        return {k: v for k, v in checked.items() if v is not None}

    def _unique(self, row: ImportRow) -> None:
        where = row.line if row.line is not None else row.index
        label = "line" if row.line is not None else "index"
        key = int(row.phone[1:])
        if key in self._phones:
            raise RequestError("duplicate_phone", f"this phone is also on {label} {self._phones[key]}")
        for channel, external_id in row.identities.items():
            if (channel, external_id) in self._idents:
                raise RequestError(
                    "duplicate_identity",
                    f"{channel} {external_id} is also on {label} {self._idents[(channel, external_id)]}",
                )
        self._phones[key] = where
        self._idents.update({ident: where for ident in row.identities.items()})


def parse_import(data: bytes, kind: str, now: float, max_rows: int | None = None) -> Parsed:
    """Parse and validate a whole file in memory (small files and tests; imports stream instead)."""
    items = list(read_items(io.BytesIO(data), kind))
    if not items:
        raise RequestError("empty_import", "the file has no contacts in it")
    if max_rows is not None and len(items) > max_rows:
        raise RequestError("too_many_rows", f"{len(items)} rows: import at most {max_rows} at once")
    return validate(items, now)


def validate(items: Iterable[tuple[int | None, Any]], now: float) -> Parsed:
    """Check every row; duplicates of an earlier row's phone or identity are errors too."""
    parsed, checker = Parsed(), RowChecker(now)
    for index, (line, raw) in enumerate(items):
        outcome = checker.check(index, line, raw)
        (parsed.errors if isinstance(outcome, RowError) else parsed.rows).append(outcome)  # type: ignore[arg-type]
    return parsed


_RUSSIAN = re.compile(r"^(?:\+7|8(?=[3489]))(\d{10})$")


@lru_cache(maxsize=65536)
def _valid_block(block: str) -> bool:
    try:
        normalize_phone(block + "0" * (12 - len(block)))
    except RequestError:
        return False
    return True


def _phone(raw: str) -> str:
    """`normalize_phone`, quicker for +7 numbers written in full (whose validity goes 7 digits deep)."""
    match = _RUSSIAN.match(raw)
    if match is None:
        return normalize_phone(raw)
    e164 = "+7" + match.group(1)
    return e164 if _valid_block(e164[:9]) else normalize_phone(raw)


def _text(value: Any, name: str) -> str:
    if value is None or isinstance(value, bool):
        return "" if value is None else str(value)
    if isinstance(value, int | str):
        return str(value).strip()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    raise RequestError("invalid_row", f"{name}: expected text or a number, not {type(value).__name__}")


def _consent(value: Any) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE | _FALSE:
        return text in _TRUE
    if not text:
        return None
    raise RequestError("invalid_consent", "marketing_consent: true or false (1/0, yes/no, да/нет)")


def _groups(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    items = value if isinstance(value, list) else re.split(r"[;|]", str(value))
    names = tuple(dict.fromkeys(str(g).strip()[:200] for g in items if str(g).strip()))
    if len(names) > MAX_GROUPS:
        raise RequestError("invalid_groups", f"groups: at most {MAX_GROUPS} per contact")
    return names


def _zone(value: Any) -> str | None:
    text = "" if value is None else str(value).strip()
    if not text:
        return None
    if not valid_zone(text):
        raise RequestError("invalid_timezone", f"timezone: {text[:64]!r} is not an IANA zone (Europe/Moscow)")
    return text


def _time(value: Any, now: float) -> float | None:
    if isinstance(value, datetime):
        value = value.isoformat()
    text = "" if value is None else str(value).strip()
    if not text:
        return None
    try:
        if re.fullmatch(r"\d{9,11}(\.\d+)?", text):
            at = float(text)
        else:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
            at = (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp()
    except ValueError as e:
        raise RequestError("invalid_time", "last_active_at: an ISO 8601 time or UNIX seconds") from e
    if at > now + 300:
        raise RequestError("invalid_time", "last_active_at is in the future")
    return at
