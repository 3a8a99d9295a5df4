"""Customers' messages: what a notification drew, the notification a reply answers, survey counts."""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import any_of, insert_ignore
from storage.models import InboundMessage, Leg, Notification, Template
from storage.prebuilt import Prebuilt

_NOTES: Any = Notification.__table__
_LEGS: Any = Leg.__table__
_ANSWERED = Prebuilt(
    lambda _, among: (
        select(_NOTES.c.client_id, _NOTES.c.contact_id, _LEGS.c.channel, _NOTES.c.id, _LEGS.c.sent_at)
        .join(_LEGS, _LEGS.c.notification_id == _NOTES.c.id)
        .where(among(_NOTES.c.contact_id, "contacts"), _LEGS.c.sent_at >= bindparam("since"))
    )
)
_TEMPLATES: Any = Template.__table__
_CONTEXTS = Prebuilt(
    lambda _, among: (
        select(_NOTES.c.id, _TEMPLATES.c.context)
        .join(_TEMPLATES, _NOTES.c.template_id == _TEMPLATES.c.id)
        .where(among(_NOTES.c.id, "ids"))
    )
)


class InboundRepo:
    """Stores each platform message once and finds the notification it answers."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, row: dict[str, Any]) -> bool:
        """Store a message; False when the same platform message was stored before."""
        stmt = insert_ignore(self._session, InboundMessage, "client_id", "channel", "external_id")
        result = await self._session.execute(stmt.values(row))
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def answered_many(
        self, owners: set[tuple[str, str]], since: float
    ) -> dict[tuple[str, str, str], tuple[str, float]]:
        """Per (client, contact, channel): the latest notification (id, sent at) sent there since `since`."""
        if not owners:
            return {}
        stmt = _ANSWERED.on(self._session)  # sent_at >= since leaves out legs never sent (NULL)
        params = {"contacts": list({contact for _, contact in owners}), "since": since}
        latest: dict[tuple[str, str, str], tuple[str, float]] = {}
        for client_id, contact_id, channel, nid, sent_at in (await self._session.execute(stmt, params)).all():
            key, at = (client_id, contact_id, channel), float(sent_at or 0.0)
            if (client_id, contact_id) in owners and (key not in latest or at > latest[key][1]):
                latest[key] = (nid, at)
        return latest

    async def for_contact(self, contact_id: str) -> list[InboundMessage]:
        """A contact's messages, oldest first."""
        stmt = (
            select(InboundMessage)
            .where(InboundMessage.contact_id == contact_id, InboundMessage.direction == "in")
            .order_by(InboundMessage.at)
        )
        return list((await self._session.execute(stmt)).scalars())

    async def for_notification(self, notification_id: str) -> list[InboundMessage]:
        """Replies linked to one notification."""
        stmt = (
            select(InboundMessage)
            .where(InboundMessage.notification_id == notification_id, InboundMessage.direction == "in")
            .order_by(InboundMessage.at)
        )
        return list((await self._session.execute(stmt)).scalars())

    async def contexts_of(self, notification_ids: set[str]) -> dict[str, str | None]:
        """The context tag of the template behind each notification (the classifier's `context`)."""
        if not notification_ids:
            return {}
        stmt, params = _CONTEXTS.on(self._session), {"ids": list(notification_ids)}
        return {nid: context for nid, context in (await self._session.execute(stmt, params)).all()}

    async def set_rating(self, notification_id: str, rating: int | None) -> None:
        """Record (or clear) the customer's score on the notification their reply answers."""
        await self._session.execute(
            update(Notification).where(Notification.id == notification_id).values(rating=rating)
        )

    async def survey(self, client_id: str, template_id: str) -> tuple[int, int, list[int]]:
        """(notifications that reached the customer, those answered, their scores) for one template."""
        notes = select(Notification.id, Notification.rating).where(
            Notification.client_id == client_id,
            Notification.template_id == template_id,
            Notification.status.in_(("sent", "delivered", "read")),
        )
        rows = (await self._session.execute(notes)).all()
        answered_q = select(InboundMessage.notification_id).where(
            InboundMessage.client_id == client_id,
            InboundMessage.direction == "in",
            any_of(self._session, InboundMessage.notification_id, [r.id for r in rows]),
        )
        answered = set((await self._session.execute(answered_q)).scalars())
        return len(rows), len(answered), [r.rating for r in rows if r.rating is not None]
