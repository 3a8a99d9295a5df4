"""The outbox: when each unfinished notification next needs a worker, and who holds it."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from sqlalchemy import delete, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import any_of, is_postgres
from storage.models import OutboxItem


class OutboxRepo:
    """Leases due rows to one worker at a time; a crashed worker's lease simply runs out."""

    def __init__(self, session: AsyncSession, on_add: Callable[[], None] | None = None) -> None:
        self._session = session
        self._on_add = on_add

    async def add_many(self, rows: list[dict[str, object]]) -> None:
        """Schedule notifications: rows of {notification_id, due_at}."""
        if rows:
            await self._session.execute(insert(OutboxItem.__table__), rows)  # type: ignore[arg-type]
            if self._on_add is not None:
                self._on_add()

    async def claim_due(self, limit: int, now: float, lease_until: float) -> list[str]:
        """Lease up to `limit` due rows; on PostgreSQL concurrent workers skip each other's rows."""
        pick = (
            select(OutboxItem.notification_id)
            .where(
                OutboxItem.due_at <= now,
                or_(OutboxItem.claimed_until.is_(None), OutboxItem.claimed_until < now),
            )
            .order_by(OutboxItem.due_at)
            .limit(limit)
        )
        if is_postgres(self._session):
            pick = pick.with_for_update(skip_locked=True)
        stmt = (
            update(OutboxItem)
            .where(OutboxItem.notification_id.in_(pick.scalar_subquery()))
            .values(claimed_until=lease_until)
            .returning(OutboxItem.notification_id)
        )
        return list((await self._session.execute(stmt)).scalars())

    async def reschedule(self, due: dict[str, float]) -> None:
        """Release leased rows with their next due time."""
        if due:
            rows = [{"notification_id": k, "due_at": v, "claimed_until": None} for k, v in due.items()]
            await self._session.execute(update(OutboxItem), rows)

    async def poke(self, ids: Iterable[str], now: float) -> None:
        """Make rows due now (a receipt arrived), keeping any current lease."""
        wanted = set(ids)
        if wanted:
            stmt = (
                update(OutboxItem)
                .where(any_of(self._session, OutboxItem.notification_id, wanted))
                .values(due_at=now)
            )
            await self._session.execute(stmt)

    async def remove(self, ids: Iterable[str]) -> None:
        """Drop rows of notifications that are final."""
        wanted = set(ids)
        if wanted:
            await self._session.execute(
                delete(OutboxItem).where(any_of(self._session, OutboxItem.notification_id, wanted))
            )

    async def pending_count(self) -> int:
        """How many notifications are not final yet."""
        from sqlalchemy import func

        return int((await self._session.execute(select(func.count()).select_from(OutboxItem))).scalar_one())

    async def due_count(self, now: float, limit: int) -> int:
        """How many rows are due now, counting at most `limit` (cheap enough to ask every round)."""
        due = select(OutboxItem.notification_id).where(OutboxItem.due_at <= now).limit(limit).subquery()
        return int((await self._session.execute(select(func.count()).select_from(due))).scalar_one())
