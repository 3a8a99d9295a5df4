"""Reading untrusted request input: JSON bodies, query parameters and text, refused as 4xx when hostile.

Everything a request carries passes through here before it reaches a handler or the database:

- `text_middleware` refuses a path, query parameter or header holding NUL (PostgreSQL cannot
  store it) or a lone surrogate (no database can encode it; aiohttp hands undecodable header
  bytes on as such) with 400 `invalid_text`.
- `parse_json` parses a body at most `MAX_DEPTH` levels deep (deeper is 400 `malformed_json`,
  where the parser would otherwise run out of stack), and `check_text` refuses NUL and lone
  surrogates anywhere in it, keys included, with 422 `invalid_text`.
- `query_int` and `query_time` read numbers and times from the query string within the range
  the database columns hold (a 32-bit integer column refuses 3,000,000,000): 422 `invalid_field`.

    >>> text_problem("a\\x00b"), text_problem("\\ud800"), text_problem("Привет")
    ('contains a NUL character', 'contains a lone surrogate (not UTF-8 text)', None)
"""

from __future__ import annotations

import json
import math
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from hub.errors import RequestError

#: Nesting deeper than this is no request of ours (a batch item's route leg is four levels down).
MAX_DEPTH = 32
#: The range of the integer columns query parameters are compared with (PostgreSQL `integer`).
INT32_MAX = 2**31 - 1
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def text_problem(text: str) -> str | None:
    """What makes `text` unstorable (NUL, a lone surrogate), or None when it is fine."""
    if "\x00" in text:
        return "contains a NUL character"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "contains a lone surrogate (not UTF-8 text)"
    return None


def check_text(data: Any, where: str = "body") -> None:
    """Refuse (422 `invalid_text`) the first string anywhere in `data` that cannot be stored."""
    pending: list[tuple[Any, str]] = [(data, where)]
    while pending:
        value, path = pending.pop()
        if isinstance(value, str):
            problem = text_problem(value)
            if problem:
                raise RequestError("invalid_text", f"{path}: {problem}")
        elif isinstance(value, dict):
            for key, inner in value.items():
                problem = text_problem(key)
                if problem:
                    raise RequestError("invalid_text", f"{path}: a field name {problem}")
                pending.append((inner, f"{path}.{key}" if path != "body" else key))
        elif isinstance(value, list):
            pending.extend((inner, f"{path}[{n}]") for n, inner in enumerate(value))


def _depth(data: Any) -> int:
    deepest, pending = 0, [(data, 1)]
    while pending:
        value, depth = pending.pop()
        deepest = max(deepest, depth)
        if depth > MAX_DEPTH:
            break
        if isinstance(value, dict):
            pending.extend((inner, depth + 1) for inner in value.values())
        elif isinstance(value, list):
            pending.extend((inner, depth + 1) for inner in value)
    return deepest


def parse_json(raw: bytes) -> Any:
    """The JSON document in `raw` (empty: null), refusing malformed and too deeply nested ones (400)."""
    too_deep = RequestError("malformed_json", f"the body nests deeper than {MAX_DEPTH} levels", status=400)
    try:
        data = json.loads(raw or b"null")
    except RecursionError as e:
        raise too_deep from e
    except (ValueError, UnicodeDecodeError) as e:
        raise RequestError("malformed_json", f"the body is not valid JSON: {e}", status=400) from e
    if _depth(data) > MAX_DEPTH:
        raise too_deep
    return data


def query_int(
    query: Mapping[str, str], name: str, default: int | None = None, *, low: int = 0, high: int = INT32_MAX
) -> int | None:
    """An integer query parameter within [low, high]; `default` when absent or empty."""
    raw = query.get(name)
    if not raw:
        return default
    return bounded_int(raw, name, low=low, high=high)


def bounded_int(raw: str, name: str, *, low: int = 0, high: int = INT32_MAX) -> int:
    """Decimal ASCII digits (an optional minus) as an integer within [low, high], else 422."""
    digits = raw.removeprefix("-")
    value = int(raw) if digits.isascii() and digits.isdigit() and len(digits) <= 19 else None
    if value is None or not low <= value <= high:
        raise RequestError("invalid_field", f"{name}: an integer {low}..{high}")
    return value


def seconds_of(moment: datetime, name: str) -> float:
    """UNIX seconds of a time (naive ones are UTC), refusing times no clock can hold."""
    try:
        seconds = (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()
    except (OverflowError, ValueError, OSError) as e:
        raise RequestError("invalid_field", f"{name}: a time between the years 1970 and 9999") from e
    if seconds < 0:
        raise RequestError("invalid_field", f"{name}: a time between the years 1970 and 9999")
    return seconds


def query_time(query: Mapping[str, str], name: str) -> float | None:
    """An ISO 8601 query parameter as UNIX seconds, or None when absent."""
    raw = query.get(name)
    if not raw:
        return None
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError as e:
        raise RequestError("invalid_field", f"{name}: an ISO 8601 time") from e
    return seconds_of(moment, name)


def finite(raw: str, name: str) -> float:
    """A finite number from text (no NaN, no infinity)."""
    try:
        value = float(raw)
    except ValueError as e:
        raise RequestError("invalid_field", f"{name}: a number") from e
    if not math.isfinite(value):
        raise RequestError("invalid_field", f"{name}: a finite number")
    return value


#: Headers whose own checks answer bad bytes (401, the sign-in page) better than a 400 would.
_CREDENTIALS = frozenset({"Authorization", "Cookie"})


@web.middleware
async def text_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Refuse (400 `invalid_text`) a path, query parameter or header the database could not store.

    Credentials (`Authorization`, `Cookie`) are left to the code that checks them: a garbled key is
    401 and a garbled session cookie the sign-in page, as a wrong one would be.
    """
    parts = [("path", request.path)]
    parts += [(f"query parameter {key!r}", f"{key}{value}") for key, value in request.query.items()]
    parts += [(f"header {key}", value) for key, value in request.headers.items() if key not in _CREDENTIALS]
    for where, text in parts:
        problem = text_problem(text)
        if problem:
            raise RequestError("invalid_text", f"the {where} {problem}", status=400)
    return await handler(request)
