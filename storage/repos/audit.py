"""The audit log: appended inside the audited action's transaction, read newest first by cursor."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import AuditEntry, Connection


@dataclass(frozen=True)
class AuditFilter:
    """Which entries to list: `before` is the last id of the previous page (newest first)."""

    client_id: str | None = None
    action: str | None = None
    since: float | None = None
    before: int | None = None
    limit: int = 50


class AuditRepo:
    """Append-only: entries are added and listed, never changed."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, entry: AuditEntry) -> None:
        """Store one entry in the current transaction."""
        self._session.add(entry)
        await self._session.flush()

    async def page(self, f: AuditFilter) -> list[AuditEntry]:
        """Entries matching the filter, newest first, at most `f.limit`."""
        stmt = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(f.limit)
        if f.client_id is not None:
            stmt = stmt.where(AuditEntry.client_id == f.client_id)
        if f.action is not None:
            stmt = stmt.where(AuditEntry.action == f.action)
        if f.since is not None:
            stmt = stmt.where(AuditEntry.at >= f.since)
        if f.before is not None:
            stmt = stmt.where(AuditEntry.id < f.before)
        return list((await self._session.execute(stmt)).scalars())

    async def newest_connection(self, client_id: str) -> int | None:
        """The id of the client's newest connection: read inside the transaction that added it."""
        stmt = select(func.max(Connection.id)).where(Connection.client_id == client_id)
        found: int | None = (await self._session.execute(stmt)).scalar_one_or_none()
        return found
