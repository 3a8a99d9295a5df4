"""Hot-path statements built once per database dialect, with every value a bound parameter.

SQLAlchemy builds, keys and (from its cache) fetches the SQL of a statement made on each call:
about 350 µs of CPU for a one-row UPDATE, against about 100 µs for the same statement built once
(measured on PostgreSQL). The reply path runs a dozen per group commit, so it builds them once.
Membership tests are `= ANY(:array)` on PostgreSQL: one SQL text (one prepared statement per
pooled connection) whatever the list's length, where IN renders a new text for every length.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, any_, bindparam
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.dml import Insert

S = TypeVar("S")
#: `among(column, name)`: "column is one of the list bound as `name`" in the session's dialect.
Among = Callable[[Any, str], ColumnElement[bool]]


def _any(column: Any, name: str) -> ColumnElement[bool]:
    return column == any_(bindparam(name, type_=postgresql.ARRAY(column.type)))  # type: ignore[no-any-return]


def _in(column: Any, name: str) -> ColumnElement[bool]:
    return column.in_(bindparam(name, expanding=True))  # type: ignore[no-any-return]


def insert_ignoring(dialect: str, model: Any, *conflict: str) -> Insert:
    """INSERT that skips rows whose unique key (`conflict` columns) already exists."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return insert(model).on_conflict_do_nothing(index_elements=list(conflict) or None)


class Prebuilt(Generic[S]):
    """A statement made by `build(dialect name, among)` the first time each dialect asks for it."""

    def __init__(self, build: Callable[[str, Among], S]) -> None:
        self._build = build
        self._made: dict[str, S] = {}

    def on(self, session: AsyncSession) -> S:
        """The statement for this session's database."""
        dialect = session.get_bind().dialect.name
        made = self._made.get(dialect)
        if made is None:
            made = self._made[dialect] = self._build(dialect, _any if dialect == "postgresql" else _in)
        return made
