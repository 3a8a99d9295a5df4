"""Clients' channel connections: added and removed by the operator, read by the router and ingress."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Connection


class ConnectionRepo:
    """Connections of every client; removal is soft so late callbacks still find (and refuse) them."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, row: dict[str, Any]) -> Connection:
        """Store a new connection and return it with its id."""
        connection = Connection(**row)
        self._session.add(connection)
        await self._session.flush()
        return connection

    async def get(self, connection_id: int) -> Connection | None:
        """One connection, removed or not."""
        return await self._session.get(Connection, connection_id)

    async def live(self, client_id: str | None = None) -> list[Connection]:
        """Connections not removed (of one client, or of all), oldest first."""
        stmt = select(Connection).where(Connection.deleted_at.is_(None))
        if client_id is not None:
            stmt = stmt.where(Connection.client_id == client_id)
        return list((await self._session.execute(stmt.order_by(Connection.id))).scalars())

    async def client_of(self, connection_id: int) -> str | None:
        """The client owning a connection (removed or not)."""
        stmt = select(Connection.client_id).where(Connection.id == connection_id)
        return (await self._session.execute(stmt)).scalar_one_or_none()

    async def remove(self, connection_id: int, now: float) -> bool:
        """Soft-delete; False when there is no live connection with this id."""
        return await self._set(connection_id, deleted_at=now, updated_at=now)

    async def mark_broken(self, connection_id: int, error: str, now: float) -> bool:
        """Record that the platform refused the account (e.g. a revoked token)."""
        return await self._set(connection_id, status="broken", last_error=error, updated_at=now)

    async def saw_events(self, connection_id: int, now: float, cursor: str | None = None) -> None:
        """Note inbound traffic and, for long polling, where to resume."""
        values: dict[str, Any] = {"last_event_at": now}
        if cursor is not None:
            values["cursor"] = cursor
        await self._set(connection_id, **values)

    async def _set(self, connection_id: int, **values: Any) -> bool:
        stmt = (
            update(Connection)
            .where(Connection.id == connection_id, Connection.deleted_at.is_(None))
            .values(**values)
        )
        result = await self._session.execute(stmt)
        return bool(result.rowcount)  # type: ignore[attr-defined]
