"""Reader leases: which process reads each long-poll connection, held by renewing before expiry.

One row per connection: the holder (a process's name) and when its hold runs out. A process
holds a connection while it keeps renewing; once the expiry passes, any other process may take
it. Plain UPDATE and INSERT ... ON CONFLICT DO NOTHING, so it behaves the same on SQLite (one
writer at a time) and PostgreSQL (the row lock makes a second taker see the first one's hold).
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import any_of, insert_ignore
from storage.models import ReaderLease


class ReaderLeaseRepo:
    """Takes, renews and gives back reader leases."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def hold(self, connection_ids: Iterable[int], holder: str, now: float, until: float) -> set[int]:
        """Renew `holder`'s leases and take free or expired ones among these; returns those it holds."""
        wanted = set(connection_ids)
        if not wanted:
            return set()
        mine_or_expired = or_(ReaderLease.holder == holder, ReaderLease.expires_at < now)
        stmt = (
            update(ReaderLease)
            .where(any_of(self._session, ReaderLease.connection_id, wanted), mine_or_expired)
            .values(holder=holder, expires_at=until)
            .returning(ReaderLease.connection_id)
        )
        held = set((await self._session.execute(stmt)).scalars())
        rows = [{"connection_id": c, "holder": holder, "expires_at": until} for c in wanted - held]
        if rows:
            await self._session.execute(insert_ignore(self._session, ReaderLease, "connection_id"), rows)
            stmt_new = select(ReaderLease.connection_id).where(
                any_of(self._session, ReaderLease.connection_id, wanted - held), ReaderLease.holder == holder
            )
            held |= set((await self._session.execute(stmt_new)).scalars())
        return held

    async def release(self, connection_ids: Iterable[int], holder: str) -> None:
        """Give leases back at once (a clean stop), so another process takes over without waiting."""
        wanted = set(connection_ids)
        if wanted:
            await self._session.execute(
                delete(ReaderLease).where(
                    any_of(self._session, ReaderLease.connection_id, wanted), ReaderLease.holder == holder
                )
            )

    async def holders(self) -> dict[int, tuple[str, float]]:
        """Every lease: connection id -> (holder, expires_at)."""
        rows = await self._session.execute(
            select(ReaderLease.connection_id, ReaderLease.holder, ReaderLease.expires_at)
        )
        return {cid: (holder, expires) for cid, holder, expires in rows.all()}
