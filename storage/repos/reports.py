"""Aggregates for dashboards: what happened per channel since a moment, for one client or all."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import and_, func, or_, select
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

    async def outcomes(self, since: float, client_id: str | None = None) -> dict[str, Any]:
        """Since `since`: notifications by status (count, cost), answers (count, cost), misses by reason."""
        answer = Notification.template_id.is_(None)  # an agent's answer or the hub's confirmation
        notes = select(Notification.status, answer, func.count(), func.sum(Notification.cost_minor)).where(
            Notification.created_at >= since
        )
        legs = (
            select(Leg.channel, Leg.status, Leg.error, func.count())
            .join(Notification, Notification.id == Leg.notification_id)
            .where(Notification.created_at >= since, Leg.status.in_(("failed", "skipped", "expired")))
            .where(or_(Leg.error.is_(None), Leg.error != "not_needed"))  # an earlier leg got through
        )
        if client_id is not None:
            notes = notes.where(Notification.client_id == client_id)
            legs = legs.where(Notification.client_id == client_id)
        rows = (await self._session.execute(notes.group_by(Notification.status, answer))).all()
        by_status: dict[str, tuple[int, int]] = {}
        answers = [0, 0]
        for status, is_answer, count, cost in rows:
            if is_answer:
                answers = [answers[0] + int(count), answers[1] + int(cost or 0)]
            else:
                by_status[str(status)] = (int(count), int(cost or 0))
        grouped = legs.group_by(Leg.channel, Leg.status, Leg.error)
        misses = [
            (str(channel), str(status), error or "", int(count))
            for channel, status, error, count in (await self._session.execute(grouped)).all()
        ]
        return {"by_status": by_status, "answers": tuple(answers), "misses": misses}
