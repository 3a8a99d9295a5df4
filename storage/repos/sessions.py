"""Web inbox sessions kept server-side, so signing out ends every copy of a session's cookie."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import WebSession


class WebSessionRepo:
    """Session rows by id (the SHA-256 of the cookie's token): opened at sign-in, deleted at sign-out."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def open(self, row: WebSession) -> None:
        """Store a new session, and drop sessions that expired by its start (housekeeping)."""
        await self._session.execute(delete(WebSession).where(WebSession.expires_at <= row.created_at))
        self._session.add(row)
        await self._session.flush()

    async def live(self, session_id: str, now: float) -> WebSession | None:
        """The session with this id, unless it ended or expired."""
        stmt = select(WebSession).where(WebSession.id == session_id, WebSession.expires_at > now)
        return (await self._session.execute(stmt)).scalar_one_or_none()

    async def end(self, session_id: str) -> None:
        """End a session for every copy of its cookie."""
        await self._session.execute(delete(WebSession).where(WebSession.id == session_id))
