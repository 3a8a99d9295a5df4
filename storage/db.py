"""Engine creation for both supported databases and the small dialect differences between them."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import ColumnElement, any_, bindparam, event
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import QueryableAttribute
from sqlalchemy.sql.dml import Insert

from storage.prebuilt import insert_ignoring


def create_engine(url: str, *, pool_size: int = 10, echo: bool = False) -> AsyncEngine:
    """An async engine: SQLite in WAL mode with a busy timeout, or PostgreSQL via asyncpg.

    Bound parameters are phones and message texts: `hide_parameters` keeps them out of every
    error message and echo line SQLAlchemy writes, so a failing statement logs its SQL only.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = create_async_engine(
            url, echo=echo, connect_args={"timeout": 30}, pool_size=pool_size, hide_parameters=True
        )
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        # take the write lock at BEGIN: a read transaction upgraded to a write one later would
        # fail with SQLITE_BUSY instead of waiting when another process wrote in between
        event.listen(engine.sync_engine, "begin", lambda conn: conn.exec_driver_sql("BEGIN IMMEDIATE"))
        return engine
    if parsed.drivername == "postgresql":
        url = str(parsed.set(drivername="postgresql+asyncpg"))
    engine = create_async_engine(
        url, echo=echo, pool_size=pool_size, max_overflow=pool_size, hide_parameters=True
    )
    event.listen(engine.sync_engine, "checkout", _replace_if_closed)
    return engine


def _replace_if_closed(dbapi_conn: Any, _record: Any, _proxy: Any) -> None:
    """A connection the server closed (restart, idle timeout) is swapped for a fresh one at checkout.

    asyncpg notices the server's goodbye by itself; asking it costs nothing, while
    `pool_pre_ping` sends a query on every checkout (about 4% of the hub's CPU under load).
    """
    if dbapi_conn._connection.is_closed():
        raise DisconnectionError("connection closed by the server")


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    dbapi_conn.isolation_level = None  # the driver must not BEGIN on its own: we do, IMMEDIATE
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions that keep loaded values after commit (the unit of work commits explicitly)."""
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


def insert_ignore(session: AsyncSession, model: type[Any], *conflict: str) -> Insert:
    """INSERT that skips rows whose unique key already exists, on either dialect."""
    return insert_ignoring(session.get_bind().dialect.name, model, *conflict)


def any_of(
    session: AsyncSession, column: ColumnElement[Any] | QueryableAttribute[Any], values: Iterable[Any]
) -> ColumnElement[bool]:
    """IN as `= ANY($1)` on PostgreSQL: one prepared statement per pooled connection, whatever the length."""
    wanted = list(values)
    if is_postgres(session):
        return column == any_(bindparam(None, wanted, type_=postgresql.ARRAY(column.type)))
    return column.in_(wanted)


def is_sqlite(engine: AsyncEngine) -> bool:
    """True for the embedded database, where one writer at a time is the rule."""
    return engine.dialect.name == "sqlite"


def is_postgres(session: AsyncSession) -> bool:
    """True on PostgreSQL, where row locks and SKIP LOCKED are available."""
    return session.get_bind().dialect.name == "postgresql"
