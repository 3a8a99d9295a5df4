"""Reading and editing a client's contacts as people: pages, counts, profiles, and erasure."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Row, Table, bindparam, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import any_of
from storage.filter_sql import condition
from storage.filters import Node
from storage.models import (
    Contact,
    Feedback,
    GroupMember,
    Identity,
    InboundMessage,
    Leg,
    LinkToken,
    Notification,
)

_C: Table = Contact.__table__  # type: ignore[assignment]
PROFILE = (
    "name",
    "attributes",
    "country",
    "region",
    "timezone",
    "marketing_consent",
    "consent_source",
    "consent_at",
)
_UPDATE_PROFILE = (
    update(_C)
    .where(_C.c.id == bindparam("b_id"))
    .values({column: bindparam(f"b_{column}") for column in PROFILE})
)


class DirectoryRepo:
    """A client's contacts with their profiles: listed by id, counted, updated, erased."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    def _contains(self, column: Any, text: str) -> ColumnElement[bool]:
        if self._session.get_bind().dialect.name == "sqlite":
            return func.instr(column, text) > 0
        return func.strpos(column, text) > 0

    def _where(self, client_id: str, node: Node | None, zone: str | None, q: str | None) -> list[Any]:
        where: list[Any] = [_C.c.client_id == client_id, _C.c.phone.is_not(None)]
        if node is not None:
            dialect = self._session.get_bind().dialect.name
            where.append(condition(node, client_id=client_id, dialect=dialect, default_timezone=zone))
        if q:
            where.append(or_(self._contains(_C.c.phone, q), self._contains(_C.c.name, q)))
        return where

    async def page(
        self,
        client_id: str,
        *,
        node: Node | None = None,
        zone: str | None = None,
        q: str | None = None,
        after: str | None = None,
        limit: int = 50,
    ) -> list[Contact]:
        """Contacts with a phone, by id, after the cursor id, matching the filter and the search text.

        `zone` is the client's default time zone (for `timezone` filters on contacts without one).
        """
        where = self._where(client_id, node, zone, q)
        if after:
            where.append(_C.c.id > after)
        stmt = select(Contact).where(*where).order_by(Contact.id).limit(limit)
        return list((await self._session.execute(stmt)).scalars())

    async def count(self, client_id: str, node: Node | None = None, zone: str | None = None) -> int:
        """How many contacts with a phone match the filter."""
        stmt = select(func.count()).select_from(_C).where(*self._where(client_id, node, zone, None))
        return int((await self._session.execute(stmt)).scalar_one())

    async def ids_by_phones(self, client_id: str, phones: list[str]) -> dict[str, str]:
        """Contact ids of these phones (those the client has)."""
        if not phones:
            return {}
        stmt = select(_C.c.phone, _C.c.id).where(
            _C.c.client_id == client_id, any_of(self._session, _C.c.phone, phones)
        )
        return {phone: cid for phone, cid in (await self._session.execute(stmt)).all()}

    async def profiles_by_phones(self, client_id: str, phones: list[str]) -> dict[str, Row[Any]]:
        """Id, phone and profile of these phones' contacts, as plain rows (imports read many)."""
        if not phones:
            return {}
        columns = [_C.c.id, _C.c.phone, *(_C.c[c] for c in PROFILE)]
        stmt = select(*columns).where(_C.c.client_id == client_id, any_of(self._session, _C.c.phone, phones))
        return {row.phone: row for row in (await self._session.execute(stmt)).all()}

    async def set_profiles(self, rows: list[dict[str, Any]]) -> None:
        """Write whole profiles: each row has `id` and every PROFILE column."""
        if rows:
            params = [{"b_id": r["id"], **{f"b_{c}": r[c] for c in PROFILE}} for r in rows]
            await self._session.execute(_UPDATE_PROFILE, params)

    async def erase(self, contact_id: str) -> None:
        """Remove a contact's personal data; what it was sent and what it cost stay, without text.

        The contact row stays (notifications and the thread point at it) with no phone, name,
        attributes or place; identities, memberships and link tokens go; the thread's messages,
        notification texts and recipients are blanked, and agents' relabellings of its messages deleted.
        """
        blank: dict[str, Any] = {c: None for c in PROFILE}
        blank.update(phone=None, marketing_consent=False, consent_source="erased")
        await self._session.execute(update(Contact).where(Contact.id == contact_id).values(**blank))
        for model in (Identity, GroupMember, LinkToken):
            await self._session.execute(delete(model).where(model.contact_id == contact_id))
        messages = select(InboundMessage.id).where(InboundMessage.contact_id == contact_id)
        await self._session.execute(delete(Feedback).where(Feedback.message_id.in_(messages)))
        await self._session.execute(
            update(InboundMessage).where(InboundMessage.contact_id == contact_id).values(text="")
        )
        sent = select(Notification.id).where(Notification.contact_id == contact_id)
        await self._session.execute(update(Leg).where(Leg.notification_id.in_(sent)).values(recipient=None))
        await self._session.execute(
            update(Notification)
            .where(Notification.contact_id == contact_id)
            .values(text="", reference=None, idempotency_key=None)
        )
