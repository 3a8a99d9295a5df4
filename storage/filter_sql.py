"""Evaluate a `storage.filters` tree as one SQL condition on `contacts`, the same on SQLite and PostgreSQL.

Attributes live in the JSON column `contacts.attributes`; each leaf first checks the value is there,
so a missing attribute makes a leaf false (never NULL) and `Not` of it true.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Table, and_, exists, false, func, not_, or_, select, true

from storage.filters import Active, All, AnyOf, Attr, Field, Flag, InGroup, Node, Not
from storage.models import Contact, ContactGroup, GroupMember, Identity

_C: Table = Contact.__table__  # type: ignore[assignment]
_G: Table = ContactGroup.__table__  # type: ignore[assignment]
_M: Table = GroupMember.__table__  # type: ignore[assignment]
_I: Table = Identity.__table__  # type: ignore[assignment]
DEFAULT_TIMEZONE = "Europe/Moscow"


def contact_zone(default_timezone: str | None) -> ColumnElement[Any]:
    """The contact's zone: its own or its number's, else the client's default."""
    return func.coalesce(_C.c.timezone, default_timezone or DEFAULT_TIMEZONE)


def condition(
    node: Node, *, client_id: str, dialect: str, default_timezone: str | None
) -> ColumnElement[bool]:
    """`node` as a WHERE clause over `contacts` (the caller also restricts to the client)."""
    return _Compiler(client_id, dialect, default_timezone).build(node)


class _Compiler:
    def __init__(self, client_id: str, dialect: str, default_timezone: str | None) -> None:
        self.client_id, self.dialect, self.zone = client_id, dialect, default_timezone

    def build(self, node: Node) -> ColumnElement[bool]:
        if isinstance(node, All):
            return and_(true(), *(self.build(p) for p in node.parts))
        if isinstance(node, AnyOf):
            return or_(false(), *(self.build(p) for p in node.parts))
        if isinstance(node, Not):
            return not_(self.build(node.part))
        if isinstance(node, Attr):
            return self.attr(node)
        if isinstance(node, Field):
            column = contact_zone(self.zone) if node.name == "timezone" else _C.c[node.name]
            return and_(column.is_not(None), column.in_(list(node.values)))
        if isinstance(node, InGroup):
            member = select(_M.c.contact_id).join(_G, _G.c.id == _M.c.group_id)
            member = member.where(_M.c.contact_id == _C.c.id, _G.c.client_id == self.client_id)
            return exists(member.where(_G.c.name == node.name))
        if isinstance(node, Flag):
            flag: ColumnElement[bool] = _C.c[node.name] == node.value
            return flag
        if isinstance(node, Active):
            seen = select(_I.c.id).where(_I.c.contact_id == _C.c.id, _I.c.last_active_at >= node.since)
            return exists(seen if node.channel is None else seen.where(_I.c.channel == node.channel))
        raise TypeError(f"not a filter node: {node!r}")

    def attr(self, node: Attr) -> ColumnElement[bool]:
        item = _C.c.attributes[node.name]
        value: ColumnElement[Any] = {"number": item.as_float, "boolean": item.as_boolean}.get(
            node.type, item.as_string
        )()
        present: ColumnElement[bool] = item.as_string().is_not(None)
        if node.op == "exists":
            return present
        if node.op == "in":
            return and_(present, value.in_(list(node.value)))
        if node.op == "contains":
            find = (
                func.instr(value, node.value) if self.dialect == "sqlite" else func.strpos(value, node.value)
            )
            return and_(present, find > 0)
        compare = {
            "eq": value.__eq__,
            "ne": value.__ne__,
            "gt": value.__gt__,
            "gte": value.__ge__,
            "lt": value.__lt__,
            "lte": value.__le__,
        }[node.op]
        compared: ColumnElement[bool] = compare(node.value)
        return and_(present, compared)
