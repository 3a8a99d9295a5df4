"""The audience filter AST: what storage can evaluate in SQL (hub parses the user's JSON into it).

A tree of frozen dataclasses, already checked and normalised (attribute types known, durations
turned into instants), so evaluating it never fails on user input:

    All((Attr("city", "string", "eq", "Казань"), InGroup("VIP"), Active("vk", since=1.7e9)))
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

AttributeType = Literal["string", "number", "date", "boolean"]
Operator = Literal["eq", "ne", "in", "gt", "gte", "lt", "lte", "contains", "exists"]


@dataclass(frozen=True)
class All:
    """Every part holds (an empty `All` holds for everyone)."""

    parts: tuple[Node, ...]


@dataclass(frozen=True)
class AnyOf:
    """At least one part holds (an empty `AnyOf` holds for no one)."""

    parts: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    """The part does not hold."""

    part: Node


@dataclass(frozen=True)
class Attr:
    """An attribute compared with a value of its type (dates as ISO strings, `in` with a tuple).

    A contact without the attribute matches nothing but `Not(...)` of it.
    """

    name: str
    type: AttributeType
    op: Operator
    value: Any = None


@dataclass(frozen=True)
class Field:
    """A column of the contact itself: `region`, `country` or `timezone` equal to one of `values`."""

    name: Literal["region", "country", "timezone"]
    values: tuple[str, ...]


@dataclass(frozen=True)
class InGroup:
    """Member of the client's group of this name."""

    name: str


@dataclass(frozen=True)
class Flag:
    """`marketing_consent` or `opted_out` is `value`."""

    name: Literal["marketing_consent", "opted_out"]
    value: bool


@dataclass(frozen=True)
class Active:
    """Active since `since` (UNIX seconds) on `channel`, or on any messenger when it is None."""

    channel: str | None
    since: float


Node = All | AnyOf | Not | Attr | Field | InGroup | Flag | Active
