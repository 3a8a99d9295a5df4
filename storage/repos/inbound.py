"""Customers' messages: what a notification drew, the notification a reply answers, survey counts."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import insert_ignore
from storage.models import InboundMessage, Leg, Notification, Template


class InboundRepo:
    """Stores each platform message once and finds the notification it answers."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, row: dict[str, Any]) -> bool:
        """Store a message; False when the same platform message was stored before."""
        stmt = insert_ignore(self._session, InboundMessage, "client_id", "channel", "external_id")
        result = await self._session.execute(stmt.values(row))
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def answered(
        self, client_id: str, contact_id: str, channel: str, since: float
    ) -> tuple[str, float] | None:
        """The latest notification (id, sent at) sent to this contact on this channel since `since`."""
        stmt = (
            select(Notification.id, Leg.sent_at)
            .join(Leg, and_(Leg.notification_id == Notification.id, Leg.channel == channel))
            .where(
                Notification.client_id == client_id,
                Notification.contact_id == contact_id,
                Leg.sent_at.is_not(None),
                Leg.sent_at >= since,
            )
            .order_by(Leg.sent_at.desc())
            .limit(1)
        )
        row = (await self._session.execute(stmt)).first()
        return (row[0], row[1] or 0.0) if row else None

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

    async def context_of(self, notification_id: str) -> str | None:
        """The context tag of the template behind a notification (the classifier's `context`)."""
        stmt = (
            select(Template.context)
            .join(Notification, Notification.template_id == Template.id)
            .where(Notification.id == notification_id)
        )
        return (await self._session.execute(stmt)).scalar_one_or_none()

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
            InboundMessage.notification_id.in_([r.id for r in rows] or [""]),
        )
        answered = set((await self._session.execute(answered_q)).scalars())
        return len(rows), len(answered), [r.rating for r in rows if r.rating is not None]
