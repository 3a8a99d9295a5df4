"""The segment filter language, sans-IO: the user's JSON in, a checked `storage.filters` tree out.

    {"all": [{"attr": "city", "eq": "Казань"},
             {"attr": "last_order_at", "older_than": "90d"},
             {"group": "VIP"}]}

Nodes: `{"all": [...]}`, `{"any": [...]}`, `{"not": {...}}`, and the leaves

    {"attr": NAME, OP: VALUE}    OP: eq ne in gt gte lt lte contains exists older_than newer_than
    {"group": NAME}              a member of the group
    {"region": TEXT | [TEXT]}    likewise "country" (RU, KZ, ...) and "timezone" (Asia/Novosibirsk)
    {"consent": BOOL}            marketing consent given
    {"opted_out": BOOL}          on the suppression list
    {"active": {"channel": "vk", "within": "30d"}}   wrote or was reachable lately (channel optional)

Which operators fit which attribute type: string (eq ne in gt gte lt lte contains exists), number
(eq ne in gt gte lt lte exists), date (eq ne in gt gte lt lte exists older_than newer_than),
boolean (eq ne exists). Durations are a whole number and a unit: `45m`, `12h`, `90d`, `2w`.
A contact without an attribute matches no comparison on it (`{"not": ...}` of one matches it).
Every problem is a 422 naming where it is, e.g. `filter.all[1].older_than: a duration such as 90d`.
"""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Collection, Mapping
from typing import Any, cast

from hub.contacts.attributes import coerce, instant
from hub.errors import RequestError
from storage.filters import Active, All, AnyOf, Attr, AttributeType, Field, Flag, InGroup, Node, Not, Operator

OPERATORS: dict[AttributeType, tuple[str, ...]] = {
    "string": ("eq", "ne", "in", "gt", "gte", "lt", "lte", "contains", "exists"),
    "number": ("eq", "ne", "in", "gt", "gte", "lt", "lte", "exists"),
    "date": ("eq", "ne", "in", "gt", "gte", "lt", "lte", "exists", "older_than", "newer_than"),
    "boolean": ("eq", "ne", "exists"),
}
ALL_OPERATORS = ("eq", "ne", "in", "gt", "gte", "lt", "lte", "contains", "exists", "older_than", "newer_than")
CHANNELS = ("vk", "ok", "telegram")
MAX_NODES = 200
MAX_DEPTH = 12
MAX_IN = 1000
_UNITS = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_DURATION = re.compile(r"^(\d{1,5})([mhdw])$")


class FilterError(RequestError):
    """A filter that cannot be used, with the path of the part at fault."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__("invalid_filter", f"{path}: {message}")
        self.path = path


def parse_filter(
    raw: Any,
    attributes: Mapping[str, AttributeType],
    groups: Collection[str],
    now: float,
    path: str = "filter",
) -> Node:
    """Check `raw` against the client's attributes and groups; durations count back from `now`."""
    parser = _Parser(attributes, groups, now)
    return parser.node(raw, path, 0)


def duration(raw: Any, path: str) -> float:
    """Seconds in a duration such as `90d` (m, h, d, w)."""
    match = _DURATION.match(raw) if isinstance(raw, str) else None
    if match is None or int(match.group(1)) == 0:
        raise FilterError(path, "a duration such as 45m, 12h, 90d or 2w")
    return int(match.group(1)) * _UNITS[match.group(2)]


class _Parser:
    def __init__(self, attributes: Mapping[str, AttributeType], groups: Collection[str], now: float) -> None:
        self.attributes, self.groups, self.now = attributes, set(groups), now
        self.count = 0

    def node(self, raw: Any, path: str, depth: int) -> Node:
        self.count += 1
        if self.count > MAX_NODES or depth > MAX_DEPTH:
            raise FilterError(path, f"too large: at most {MAX_NODES} parts, {MAX_DEPTH} levels deep")
        if not isinstance(raw, Mapping) or not raw:
            raise FilterError(path, 'an object such as {"all": [...]} or {"attr": ..., "eq": ...}')
        if "attr" in raw:
            return self.attr(raw, path)
        if len(raw) != 1:
            raise FilterError(path, f"one key per part, not {', '.join(sorted(map(str, raw)))}")
        [(key, value)] = raw.items()
        handler = _LEAVES.get(key)
        if key in ("all", "any"):
            return self.many(key, value, f"{path}.{key}", depth)
        if key == "not":
            return Not(self.node(value, f"{path}.not", depth + 1))
        if handler is None:
            known = "all, any, not, attr, " + ", ".join(_LEAVES)
            raise FilterError(f"{path}.{key}", f"unknown filter; known: {known}")
        return handler(self, value, f"{path}.{key}")

    def many(self, key: str, value: Any, path: str, depth: int) -> Node:
        if not isinstance(value, list):
            raise FilterError(path, "a list of filters")
        parts = tuple(self.node(item, f"{path}[{i}]", depth + 1) for i, item in enumerate(value))
        return All(parts) if key == "all" else AnyOf(parts)

    def attr(self, raw: Mapping[str, Any], path: str) -> Node:
        name = raw["attr"]
        if not isinstance(name, str) or name not in self.attributes:
            known = ", ".join(sorted(self.attributes)) or "none yet"
            raise FilterError(f"{path}.attr", f"unknown attribute {str(name)[:64]!r}; known: {known}")
        kind = self.attributes[name]
        ops = [k for k in raw if k != "attr"]
        if len(ops) != 1:
            raise FilterError(path, f"one operator per attribute filter: {', '.join(ALL_OPERATORS)}")
        op, value = ops[0], raw[ops[0]]
        where = f"{path}.{op}"
        if op not in ALL_OPERATORS:
            raise FilterError(where, f"unknown operator; known: {', '.join(ALL_OPERATORS)}")
        if op not in OPERATORS[kind]:
            raise FilterError(where, f"not for a {kind} attribute; use {', '.join(OPERATORS[kind])}")
        if op == "exists":
            if not isinstance(value, bool):
                raise FilterError(where, "true or false")
            found = Attr(name, kind, "exists")
            return found if value else Not(found)
        if op in ("older_than", "newer_than"):
            since = instant(self.now - duration(value, where))
            return Attr(name, kind, "lt" if op == "older_than" else "gt", since)
        if op == "in":
            if not isinstance(value, list) or not 1 <= len(value) <= MAX_IN:
                raise FilterError(where, f"a list of 1..{MAX_IN} values")
            values = tuple(self.value(v, kind, f"{where}[{i}]") for i, v in enumerate(value))
            return Attr(name, kind, "in", values)
        return Attr(name, kind, cast(Operator, op), self.value(value, kind, where))

    @staticmethod
    def value(value: Any, kind: AttributeType, path: str) -> Any:
        if value is None or isinstance(value, dict | list) or (kind != "boolean" and isinstance(value, bool)):
            raise FilterError(path, f"a {kind} value")
        if kind == "boolean" and not isinstance(value, bool):
            raise FilterError(path, "true or false")
        if kind == "number" and not isinstance(value, int | float):
            raise FilterError(path, "a number")
        if kind == "string" and not isinstance(value, str):
            raise FilterError(path, "text")
        try:
            return coerce(value, kind, path)
        except RequestError as e:
            raise FilterError(path, e.message.partition(": ")[2]) from e

    def group(self, value: Any, path: str) -> Node:
        if not isinstance(value, str) or value not in self.groups:
            raise FilterError(path, f"no group named {str(value)[:200]!r}")
        return InGroup(value)

    def field(self, value: Any, path: str) -> Node:
        name = path.rpartition(".")[2]
        values = value if isinstance(value, list) else [value]
        if not values or len(values) > MAX_IN or not all(isinstance(v, str) and v for v in values):
            raise FilterError(path, "a name or a list of names")
        if name == "timezone":
            for i, zone in enumerate(values):
                if not valid_zone(zone):
                    raise FilterError(
                        path if value is values[0] else f"{path}[{i}]", f"unknown zone {zone!r}"
                    )
        if name == "country":
            values = [v.upper() for v in values]
        return Field(cast(Any, name), tuple(values))

    def flag(self, value: Any, path: str) -> Node:
        if not isinstance(value, bool):
            raise FilterError(path, "true or false")
        name = "marketing_consent" if path.endswith(".consent") else "opted_out"
        return Flag(cast(Any, name), value)

    def active(self, value: Any, path: str) -> Node:
        if not isinstance(value, Mapping) or "within" not in value or set(value) - {"channel", "within"}:
            raise FilterError(path, '{"within": "30d"} and optionally "channel": vk, ok or telegram')
        channel = value.get("channel")
        if channel is not None and channel not in CHANNELS:
            raise FilterError(f"{path}.channel", f"one of {', '.join(CHANNELS)}")
        return Active(channel, self.now - duration(value["within"], f"{path}.within"))


def valid_zone(name: str) -> bool:
    """True for an IANA time zone name this machine knows (Europe/Moscow)."""
    if not name or name.startswith(("/", ".")) or ".." in name:
        return False
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return False
    return True


_LEAVES = {
    "group": _Parser.group,
    "region": _Parser.field,
    "country": _Parser.field,
    "timezone": _Parser.field,
    "consent": _Parser.flag,
    "opted_out": _Parser.flag,
    "active": _Parser.active,
}
