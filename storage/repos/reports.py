"""Aggregates for dashboards: what happened per channel since a moment, for one client or all."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import InboundMessage, Leg, Notification

STAGES = ("sent", "delivered", "read", "replied", "fallback")


class ReportRepo:
    """Counts for the funnel chart (sent, delivered, read, replied, fell back to SMS)."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def funnel(self, since: float, client_id: str | None = None) -> dict[str, dict[str, int]]:
        """Per channel, how many legs were sent, delivered, read since `since`, replies, SMS fallbacks."""
        found: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(STAGES, 0))
        for stage, column in (("sent", Leg.sent_at), ("delivered", Leg.delivered_at), ("read", Leg.read_at)):
            for channel, count in await self._legs(column >= since, client_id):
                found[channel][stage] = count
        for channel, count in await self._legs(
            and_(Leg.sent_at >= since, Leg.channel == "sms", Leg.idx > 0), client_id
        ):
            found[channel]["fallback"] = count
        replies = select(InboundMessage.channel, func.count()).where(
            InboundMessage.at >= since, InboundMessage.direction == "in"
        )
        if client_id is not None:
            replies = replies.where(InboundMessage.client_id == client_id)
        for channel, count in (await self._session.execute(replies.group_by(InboundMessage.channel))).all():
            found[channel]["replied"] = int(count)
        return dict(found)

    async def _legs(self, condition: Any, client_id: str | None) -> list[tuple[str, int]]:
        stmt = select(Leg.channel, func.count()).where(condition)
        if client_id is not None:
            stmt = stmt.join(Notification, Notification.id == Leg.notification_id).where(
                Notification.client_id == client_id
            )
        rows = (await self._session.execute(stmt.group_by(Leg.channel))).all()
        return [(str(channel), int(count)) for channel, count in rows]
