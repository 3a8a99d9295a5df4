"""Templates and their moderation state."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import any_of
from storage.models import Template


class TemplateRepo:
    """Templates per client; the operator sees all pending ones."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, template: Template) -> None:
        """Store a newly submitted template."""
        self._session.add(template)
        await self._session.flush()

    async def get(self, template_id: str, client_id: str | None = None) -> Template | None:
        """A template by id, only if it belongs to `client_id` when one is given."""
        template = await self._session.get(Template, template_id)
        if template is None or (client_id is not None and template.client_id != client_id):
            return None
        return template

    async def many(self, client_id: str, ids: Iterable[str]) -> dict[str, Template]:
        """Templates of one client by id, for a batch of notifications."""
        stmt = select(Template).where(
            Template.client_id == client_id, any_of(self._session, Template.id, set(ids))
        )
        return {t.id: t for t in (await self._session.execute(stmt)).scalars()}

    async def list(self, client_id: str | None = None, status: str | None = None) -> list[Template]:
        """Templates filtered by client and status, oldest first."""
        stmt = select(Template).order_by(Template.created_at)
        if client_id is not None:
            stmt = stmt.where(Template.client_id == client_id)
        if status is not None:
            stmt = stmt.where(Template.status == status)
        return list((await self._session.execute(stmt)).scalars())
