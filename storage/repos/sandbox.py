"""What the simulated network received, so the sandbox survives restarts and dedupes resends."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.db import any_of, insert_ignore
from storage.models import SandboxMessage


class SandboxRepo:
    """Rows of the sandbox network's message log."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def record_many(self, rows: list[dict[str, Any]]) -> dict[str, int]:
        """Store messages once per leg key; ids by leg key (the same id for a resend)."""
        await self._session.execute(insert_ignore(self._session, SandboxMessage, "leg_key"), rows)
        keys = [row["leg_key"] for row in rows]
        found = await self._session.execute(
            select(SandboxMessage.leg_key, SandboxMessage.id).where(
                any_of(self._session, SandboxMessage.leg_key, keys)
            )
        )
        return {key: int(mid) for key, mid in found.all()}

    async def due(self, now: float, limit: int) -> list[SandboxMessage]:
        """Messages whose next simulated event is due."""
        stmt = (
            select(SandboxMessage)
            .where(SandboxMessage.next_at <= now, SandboxMessage.withdrawn.is_(False))
            .order_by(SandboxMessage.next_at)
            .limit(limit)
        )
        return list((await self._session.execute(stmt)).scalars())

    async def advance(self, rows: list[dict[str, Any]]) -> None:
        """Move messages to their next stage: dicts of id, stage, next_at."""
        if rows:
            await self._session.execute(update(SandboxMessage), rows)

    async def withdraw(self, leg_key: str) -> bool:
        """Hide a message from the simulated customer; False if it was never received."""
        result = await self._session.execute(
            update(SandboxMessage)
            .where(SandboxMessage.leg_key == leg_key)
            .values(withdrawn=True, next_at=None)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def received(self, recipient: str | None = None) -> list[SandboxMessage]:
        """What the network received (all, or for one recipient), oldest first."""
        stmt = select(SandboxMessage).order_by(SandboxMessage.id)
        if recipient is not None:
            stmt = stmt.where(SandboxMessage.recipient == recipient)
        return list((await self._session.execute(stmt)).scalars())

    async def received_by(
        self, client_id: str, addresses: list[tuple[str, str]], after: int = 0, limit: int = 100
    ) -> list[SandboxMessage]:
        """What one client sent to these (channel, recipient) addresses, oldest first, after an id."""
        if not addresses:
            return []
        to = or_(*(and_(SandboxMessage.channel == ch, SandboxMessage.recipient == r) for ch, r in addresses))
        stmt = (
            select(SandboxMessage)
            .where(SandboxMessage.client_id == client_id, to, SandboxMessage.id > after)
            .order_by(SandboxMessage.id)
            .limit(limit)
        )
        return list((await self._session.execute(stmt)).scalars())


class SandboxStore:
    """`bots.sandbox.SandboxStore` over the database: each call is its own short transaction."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], lock: asyncio.Lock | None = None) -> None:
        self._sessions = sessions
        self._lock = lock or contextlib.nullcontext()

    async def record_many(self, rows: list[dict[str, Any]]) -> dict[str, int]:
        """See `SandboxRepo.record_many`."""
        async with self._lock, self._sessions() as session, session.begin():
            return await SandboxRepo(session).record_many(rows)

    async def due(self, now: float, limit: int) -> list[dict[str, Any]]:
        """See `SandboxRepo.due`; rows as dicts."""
        async with self._lock, self._sessions() as session:
            rows = await SandboxRepo(session).due(now, limit)
            cols = [c.key for c in SandboxMessage.__table__.columns]
            return [{c: getattr(r, c) for c in cols} for r in rows]

    async def advance(self, rows: list[dict[str, Any]]) -> None:
        """See `SandboxRepo.advance`."""
        async with self._lock, self._sessions() as session, session.begin():
            await SandboxRepo(session).advance(rows)

    async def withdraw(self, leg_key: str) -> bool:
        """See `SandboxRepo.withdraw`."""
        async with self._lock, self._sessions() as session, session.begin():
            return await SandboxRepo(session).withdraw(leg_key)
