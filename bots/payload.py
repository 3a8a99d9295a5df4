"""Untrusted bodies from the platforms' callbacks: bounded JSON nesting and sane timestamps (pure).

`json.loads` recurses once per nesting level, so a body of `[[[[...` a hundred thousand deep
raises `RecursionError` (not `ValueError`) and would end as a 500. `load_json` measures the
nesting first, skipping strings, and refuses anything deeper than `MAX_DEPTH` (no platform sends
more than about six levels):

    >>> load_json(b'{"a": [1, {"b": "[[["}]}')
    {'a': [1, {'b': '[[['}]}
    >>> try:
    ...     load_json(b"[" * 100 + b"]" * 100)
    ... except PayloadError as e:
    ...     print(e)
    JSON nested deeper than 32 levels

Platform timestamps become datetimes only inside a plausible range, so `"date": 10**20` is a
malformed item rather than an `OverflowError`:

    >>> timestamp(1700000000).year, timestamp(1700000000123, scale=1000).year
    (2023, 2023)
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

#: Deepest nesting accepted in a callback body.
MAX_DEPTH = 32
#: Latest platform timestamp accepted (2100-01-01 UTC); the earliest is the epoch.
MAX_TIMESTAMP = 4_102_444_800
#: A JSON string (escapes included; the unrolled loop is linear, never backtracks) or a bracket.
_TOKENS = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]')
_OPENERS = frozenset(b"[{")


class PayloadError(ValueError):
    """A callback body the hub will not parse (too deeply nested)."""


def check_depth(raw: bytes, max_depth: int = MAX_DEPTH) -> None:
    """Raise `PayloadError` when `raw` nests arrays/objects deeper than `max_depth`."""
    if raw.count(b"[") + raw.count(b"{") <= max_depth:
        return  # cannot be deeper than the number of openers: the common case, no scan
    depth = 0
    for match in _TOKENS.finditer(raw):
        token = match.group()
        if len(token) != 1:
            continue  # a string: brackets inside it do not nest
        if token[0] in _OPENERS:
            depth += 1
            if depth > max_depth:
                raise PayloadError(f"JSON nested deeper than {max_depth} levels")
        else:
            depth -= 1


def load_json(raw: bytes | str, max_depth: int = MAX_DEPTH) -> Any:
    """`json.loads` for untrusted bodies: `ValueError` (never `RecursionError`) for anything unusable."""
    data = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw
    check_depth(data, max_depth)
    return json.loads(data)


def timestamp(value: Any, *, scale: int = 1) -> datetime:
    """A platform's UNIX time (`scale` 1000 for milliseconds) as a UTC datetime; ValueError if implausible."""
    try:
        number = int(value)
    except OverflowError as e:  # float("inf")
        raise ValueError("timestamp out of range") from e
    if not 0 <= number <= MAX_TIMESTAMP * scale:
        raise ValueError(f"timestamp out of range: {str(number)[:24]}")
    return datetime.fromtimestamp(number / scale, UTC)
