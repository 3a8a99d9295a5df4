"""Reading import files as a stream of rows: CSV (UTF-8 or cp1251; `;`, `,` or tab), XLSX and JSON.

`read_items(stream, kind)` yields `(line, row)` pairs, one data row at a time, so a file of a
million rows never sits in memory: `line` is the CSV or sheet line (None for JSON items) and `row`
a mapping of column to value, or a string saying why the line cannot be read. A file that cannot
be read at all (no header with a phone column, a column named twice, not JSON, not a workbook)
raises `RequestError` before the first row.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
import zipfile
from collections.abc import Iterator, Mapping
from datetime import date, datetime
from typing import IO, Any

from hub.contacts.attributes import column_name
from hub.errors import RequestError

KINDS = ("csv", "xlsx", "json")
_SAMPLE = 1 << 16
_ALIASES = {"vk_user_id": "vk", "ok_user_id": "ok", "telegram_chat_id": "telegram", "телефон": "phone"}
Items = Iterator[tuple[int | None, Any]]
_CONTACTS = re.compile(rb'^\{\s*"contacts"\s*:\s*\[')


def read_items(stream: IO[bytes], kind: str, json_error: str = "malformed_import") -> Items:
    """Rows of a file of `kind` (csv, xlsx or json) from a binary stream."""
    if kind == "csv":
        return _csv(stream)
    if kind == "xlsx":
        return _xlsx(stream)
    if kind == "json":
        return _json(stream, json_error)
    raise RequestError("unknown_format", f"{kind}: import csv, xlsx or json")


def column(raw: Any) -> str:
    """A header cell as a column name (`VK_user_id` -> `vk`, `Город` -> `город`)."""
    name = column_name(str(raw if raw is not None else ""))
    return _ALIASES.get(name, name)


def check_header(header: list[str]) -> list[str]:
    """The header row's names, or a whole-file error: a phone column is required, none twice."""
    if "phone" not in header:
        raise RequestError(
            "missing_column", "the header row must name a phone column (phone,name,vk,...,any attribute)"
        )
    named = [h for h in header if h]
    if len(set(named)) != len(named):
        twice = next(h for h in named if named.count(h) > 1)
        raise RequestError("duplicate_column", f"a column is named twice in the header row: {twice}")
    return header


def encoding_of(sample: bytes) -> str:
    """`utf-8-sig` when the sample is UTF-8 (a cut last character is fine), else Windows `cp1251`."""
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
    except UnicodeDecodeError:
        return "cp1251"
    return "utf-8-sig"


def delimiter_of(first_line: str) -> str:
    """The separator the header line uses most: `;`, `,` or a tab."""
    return max((";", ",", "\t"), key=first_line.count)


class _Prefixed(io.RawIOBase):
    """A stream whose first bytes were already read (to detect the encoding), put back in front."""

    def __init__(self, head: bytes, rest: IO[bytes]) -> None:
        self._head, self._rest = head, rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._head:
            n = min(len(buffer), len(self._head))
            buffer[:n], self._head = self._head[:n], self._head[n:]
            return n
        data = self._rest.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def _csv(stream: IO[bytes]) -> Items:
    sample = stream.read(_SAMPLE)
    if b"\x00" in sample:
        raise RequestError("malformed_import", "the file is binary, not CSV text", status=400)
    buffered = io.BufferedReader(_Prefixed(sample, stream))
    text = io.TextIOWrapper(buffered, encoding=encoding_of(sample), errors="replace", newline="")
    first = text.readline()
    reader = csv.reader(io.StringIO(first), delimiter=delimiter_of(first))
    header = check_header([column(name) for name in next(reader, [])])
    reader = csv.reader(text, delimiter=delimiter_of(first))
    return _csv_rows(reader, header)


def _csv_rows(reader: Any, header: list[str]) -> Items:
    line = 1
    while True:
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as e:
            yield reader.line_num + 1, f"not a readable CSV line: {e}"
            continue
        line = reader.line_num + 1
        if not any(v.strip() for v in values):
            continue
        if len(values) > len(header):
            yield line, f"{len(values)} fields for {len(header)} columns"
            continue
        yield line, {h: v for h, v in zip(header, values, strict=False) if h}


def _xlsx(stream: IO[bytes]) -> Items:
    from openpyxl import load_workbook

    try:
        book = load_workbook(stream, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as e:
        raise RequestError("malformed_import", f"not a readable XLSX workbook: {e}", status=400) from e
    sheet = book.worksheets[0]
    rows = sheet.iter_rows(values_only=True)
    header = check_header([column(cell) for cell in next(rows, ())])
    return _xlsx_rows(book, rows, header)


def _xlsx_rows(book: Any, rows: Iterator[tuple[Any, ...]], header: list[str]) -> Items:
    try:
        for line, values in enumerate(rows, start=2):
            cells = {h: _cell(v) for h, v in zip(header, values, strict=False) if h and v is not None}
            if any(v != "" for v in cells.values()):
                yield line, cells
    finally:
        book.close()


def _cell(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer() and abs(value) >= 1e9:
        return str(int(value))  # a phone or an id typed as a number
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**9:
        return str(value)
    if isinstance(value, datetime | date | bool | int | float):
        return value
    return str(value).strip()


def _json(stream: IO[bytes], code: str) -> Items:
    head = stream.read(_SAMPLE)
    start = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if start[:1] == b"[" or _CONTACTS.match(start):
        return _json_list(head, stream, code)  # the list (also inside {"contacts": [...]}), item by item
    try:
        loaded = json.loads(head + stream.read())
    except (ValueError, UnicodeDecodeError) as e:
        raise RequestError(code, f"not valid JSON: {e}", status=400) from e
    return iter(json_items(loaded))


def json_items(loaded: Any) -> list[tuple[int | None, Any]]:
    """Items of an already decoded JSON import (a list, or an object with `contacts`)."""
    if isinstance(loaded, Mapping) and set(loaded) == {"contacts"}:
        loaded = loaded["contacts"]
    if not isinstance(loaded, list):
        raise RequestError("malformed_import", "a JSON import is a list of contact objects", status=400)
    return [(None, item) for item in loaded]


def _json_list(head: bytes, stream: IO[bytes], code: str) -> Items:
    """Items of a top-level JSON list, decoded one at a time from a growing buffer."""
    decoder = json.JSONDecoder()
    raw, text, pos = codecs.getincrementaldecoder("utf-8-sig")(), "", 0
    try:
        text = raw.decode(head)
    except UnicodeDecodeError as e:
        raise RequestError(code, f"not valid JSON: {e}", status=400) from e
    pos = text.index("[") + 1
    expect_item = True

    def more() -> bool:
        nonlocal text, pos
        chunk = stream.read(_SAMPLE)
        text = text[pos:] + raw.decode(chunk, final=not chunk)
        pos = 0
        return bool(chunk)

    def step() -> Iterator[tuple[int | None, Any]]:
        nonlocal pos, expect_item
        while True:
            while pos < len(text) and text[pos] in " \t\r\n":
                pos += 1
            if pos >= len(text):
                if not more():
                    raise RequestError(code, "not valid JSON: the list is not closed", status=400)
                continue
            if text[pos] == "]":
                return
            if text[pos] == "," and not expect_item:
                pos, expect_item = pos + 1, True
                continue
            try:
                item, end = decoder.raw_decode(text, pos)
            except ValueError as e:
                if more():
                    continue
                raise RequestError(code, f"not valid JSON: {e}", status=400) from e
            if end == len(text) and more():
                continue  # a number may go on in the next chunk
            pos, expect_item = end, False
            yield None, item

    return step()
