"""Contact imports, sans-IO: a CSV or JSON file in, validated rows and per-row errors out.

CSV: UTF-8 (a BOM is fine), comma- or semicolon-separated, a header row naming the columns.
JSON: a list of objects (or `{"contacts": [...]}`) with the same names as keys.

    phone             required; parsed with `phonenumbers` (Russian numbers may omit +7)
    vk, ok, telegram  the customer's VK user id, OK user id, Telegram chat id (also vk_user_id, ...)
    marketing_consent true/false (1/0, yes/no, да/нет); empty leaves the stored consent as it is
    last_active_at    when the customer was last active on those messengers (ISO 8601 or UNIX seconds)

A file that cannot be read at all (not UTF-8, not CSV/JSON, no phone column, an unknown column,
no rows, too many rows) is refused as a whole; otherwise every bad row gets an error with its line
(CSV) or index and the good rows go ahead.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from hub.contacts.phones import normalize_phone
from hub.errors import RequestError

COLUMNS = ("phone", "vk", "ok", "telegram", "marketing_consent", "last_active_at")
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


@dataclass(frozen=True)
class ImportRow:
    """One valid row: a phone, its messenger identities and what else the client knows."""

    index: int
    line: int | None
    phone: str
    identities: dict[str, str]
    marketing_consent: bool | None = None
    last_active_at: float | None = None


@dataclass(frozen=True)
class RowError:
    """Why one row was not imported (`index` counts data rows from 0, `line` is the CSV line)."""

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


def parse_import(data: bytes, kind: str, now: float, max_rows: int | None = None) -> Parsed:
    """Parse and validate a whole file of `kind` `csv` or `json`."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise RequestError("malformed_import", f"the file is not UTF-8 text ({e.reason})", status=400) from e
    items = _csv_items(text) if kind == "csv" else _json_items(text)
    if not items:
        raise RequestError("empty_import", "the file has no contacts in it")
    if max_rows is not None and len(items) > max_rows:
        raise RequestError("too_many_rows", f"{len(items)} rows: import at most {max_rows} at once")
    return validate(items, now)


def _csv_items(text: str) -> list[tuple[int | None, Any]]:
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") > first.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = [_column(name) for name in next(reader, [])]
        _check_header(header)
        items: list[tuple[int | None, Any]] = []
        for values in reader:
            if not any(v.strip() for v in values):
                continue
            if len(values) > len(header):
                items.append((reader.line_num, f"{len(values)} fields for {len(header)} columns"))
                continue
            items.append((reader.line_num, dict(zip(header, values, strict=False))))
    except csv.Error as e:
        raise RequestError("malformed_import", f"not a readable CSV file: {e}", status=400) from e
    return items


def _column(name: str) -> str:
    key = name.strip().lower()
    return _ALIASES.get(key, key)


def _check_header(header: list[str]) -> None:
    if "phone" not in header:
        raise RequestError(
            "missing_column", "the header row must name a phone column (phone,vk,ok,telegram,...)"
        )
    unknown = [name for name in header if name not in COLUMNS]
    if unknown:
        raise RequestError("unknown_column", f"unknown column {unknown[0]!r}; known: {', '.join(COLUMNS)}")
    if len(set(header)) != len(header):
        raise RequestError("duplicate_column", "a column is named twice in the header row")


def _json_items(text: str) -> list[tuple[int | None, Any]]:
    try:
        loaded = json.loads(text)
    except ValueError as e:
        raise RequestError("malformed_import", f"not valid JSON: {e}", status=400) from e
    return json_items(loaded)


def json_items(loaded: Any) -> list[tuple[int | None, Any]]:
    """Items of an already decoded JSON import (a list, or an object with `contacts`)."""
    if isinstance(loaded, Mapping) and set(loaded) == {"contacts"}:
        loaded = loaded["contacts"]
    if not isinstance(loaded, list):
        raise RequestError("malformed_import", "a JSON import is a list of contact objects", status=400)
    return [(None, item) for item in loaded]


def validate(items: Iterable[tuple[int | None, Any]], now: float) -> Parsed:
    """Check every row; duplicates of an earlier row's phone or identity are errors too."""
    parsed = Parsed()
    phones: dict[str, int] = {}
    idents: dict[tuple[str, str], int] = {}
    for index, (line, raw) in enumerate(items):
        try:
            row = _row(index, line, raw, now)
            _unique(row, phones, idents)
        except RequestError as e:
            parsed.errors.append(RowError(index, line, e.code, e.message))
            continue
        parsed.rows.append(row)
    return parsed


def _row(index: int, line: int | None, raw: Any, now: float) -> ImportRow:
    if isinstance(raw, str):
        raise RequestError("invalid_row", raw)
    if not isinstance(raw, Mapping):
        raise RequestError("invalid_row", "each contact must be an object")
    values = {_column(str(k)): v for k, v in raw.items()}
    unknown = [k for k in values if k not in COLUMNS]
    if unknown:
        raise RequestError("unknown_field", f"{unknown[0]}: unknown field; known: {', '.join(COLUMNS)}")
    phone = _text(values.get("phone"))
    if not phone:
        raise RequestError("missing_field", "phone: this field is required")
    identities = {}
    for channel in ("vk", "ok", "telegram"):
        value = _text(values.get(channel))
        if value and not _IDS[channel].match(value):
            raise RequestError(f"invalid_{channel}", f"{channel}: {_ID_HINT[channel]}")
        if value:
            identities[channel] = value
    return ImportRow(
        index,
        line,
        normalize_phone(phone),
        identities,
        _consent(values.get("marketing_consent")),
        _time(values.get("last_active_at"), now),
    )


def _text(value: Any) -> str:
    if value is None or isinstance(value, bool):
        return "" if value is None else str(value)
    if isinstance(value, int | str):
        return str(value).strip()
    raise RequestError("invalid_row", f"expected text or a number, not {type(value).__name__}")


def _consent(value: Any) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE | _FALSE:
        return text in _TRUE
    if not text:
        return None
    raise RequestError("invalid_consent", "marketing_consent: true or false (1/0, yes/no, да/нет)")


def _time(value: Any, now: float) -> float | None:
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


def _unique(row: ImportRow, phones: dict[str, int], idents: dict[tuple[str, str], int]) -> None:
    where = row.line if row.line is not None else row.index
    label = "line" if row.line is not None else "index"
    if row.phone in phones:
        raise RequestError("duplicate_phone", f"this phone is also on {label} {phones[row.phone]}")
    for channel, external_id in row.identities.items():
        if (channel, external_id) in idents:
            raise RequestError(
                "duplicate_identity",
                f"{channel} {external_id} is also on {label} {idents[(channel, external_id)]}",
            )
    phones[row.phone] = where
    idents.update({key: where for key in row.identities.items()})
