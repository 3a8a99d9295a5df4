"""Clients' channel connections: added and removed by the operator, read by the router and ingress."""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from storage.models import Connection
from storage.prebuilt import Prebuilt
from storage.secret_box import SecretKeyError, box_of

_CONNECTIONS: Any = Connection.__table__
_TOUCH_LIVE = Prebuilt(
    lambda _, among: (
        update(_CONNECTIONS)
        .where(among(_CONNECTIONS.c.id, "ids"), _CONNECTIONS.c.deleted_at.is_(None))
        .values(last_event_at=bindparam("now"))
        .returning(_CONNECTIONS.c.id)
    )
)


class ConnectionRepo:
    """Connections of every client; removal is soft so late callbacks still find (and refuse) them.

    Secret settings are sealed in the table and opened on the loaded objects (without marking
    them changed, so a later commit never writes them back in plain text).
    """

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, row: dict[str, Any]) -> Connection:
        """Store a new connection (its secrets sealed) and return it with its id."""
        sealed = box_of(self._session.info).seal_settings(row["settings"])
        connection = Connection(**{**row, "settings": sealed})
        self._session.add(connection)
        await self._session.flush()
        set_committed_value(connection, "settings", dict(row["settings"]))
        return connection

    async def get(self, connection_id: int) -> Connection | None:
        """One connection, removed or not."""
        found = await self._session.get(Connection, connection_id)
        return self._opened(found) if found is not None else None

    async def by_callback_token(self, token: str) -> Connection | None:
        """The connection whose callback URL ends in `token` (removed or not)."""
        stmt = select(Connection).where(Connection.callback_token == token)
        found = (await self._session.execute(stmt)).scalar_one_or_none()
        return self._opened(found) if found is not None else None

    def _opened(self, connection: Connection) -> Connection:
        opened = box_of(self._session.info).open_settings(connection.settings)
        set_committed_value(connection, "settings", opened)
        return connection

    async def reseal_secrets(self, dry_run: bool = False) -> tuple[int, int]:
        """Seal every connection's secrets with the first key: (rows changed, rows already current)."""
        box = box_of(self._session.info)
        changed = current = 0
        for cid, settings in (await self._session.execute(select(Connection.id, Connection.settings))).all():
            try:
                sealed = box.reseal_settings(settings)
            except SecretKeyError as e:
                raise SecretKeyError(f"connection {cid}: {e}") from None
            if sealed == settings:
                current += 1
                continue
            changed += 1
            if not dry_run:
                stmt = update(Connection).where(Connection.id == cid).values(settings=sealed)
                await self._session.execute(stmt)
        return changed, current

    async def live(self, client_id: str | None = None) -> list[Connection]:
        """Connections not removed (of one client, or of all), oldest first."""
        stmt = select(Connection).where(Connection.deleted_at.is_(None))
        if client_id is not None:
            stmt = stmt.where(Connection.client_id == client_id)
        found = (await self._session.execute(stmt.order_by(Connection.id))).scalars()
        return [self._opened(c) for c in found]

    async def has_live(self, client_id: str) -> bool:
        """Whether the client has a connection not removed (such a client never uses the sandbox)."""
        stmt = select(Connection.id).where(Connection.client_id == client_id, Connection.deleted_at.is_(None))
        return (await self._session.execute(stmt.limit(1))).first() is not None

    async def client_of(self, connection_id: int) -> str | None:
        """The client owning a connection (removed or not)."""
        stmt = select(Connection.client_id).where(Connection.id == connection_id)
        return (await self._session.execute(stmt)).scalar_one_or_none()

    async def touch_live(self, connection_ids: set[int], now: float) -> set[int]:
        """Note traffic on these connections in one statement; returns those still live (not removed)."""
        if not connection_ids:
            return set()
        params = {"ids": list(connection_ids), "now": now}
        return set((await self._session.execute(_TOUCH_LIVE.on(self._session), params)).scalars())

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
