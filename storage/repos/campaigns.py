"""Campaigns and their frozen audiences: start when due, hand out due recipients, count outcomes."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import any_of, is_postgres
from storage.models import Campaign, CampaignRecipient, InboundMessage, Notification

_RECIPIENTS = CampaignRecipient.__table__
#: Rows per INSERT when an audience is frozen (well under both databases' parameter limits).
_CHUNK = 2000


class CampaignRepo:
    """Intention-named access to campaigns; callers commit through the unit of work."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, row: dict[str, Any]) -> None:
        """Store a new campaign."""
        await self._session.execute(insert(Campaign.__table__), [row])  # type: ignore[arg-type]

    async def get(self, campaign_id: str, client_id: str | None = None) -> Campaign | None:
        """One campaign, only if it belongs to `client_id` (when given)."""
        stmt = select(Campaign).where(Campaign.id == campaign_id)
        if client_id is not None:
            stmt = stmt.where(Campaign.client_id == client_id)
        return (await self._session.execute(stmt)).scalar_one_or_none()

    async def of_client(self, client_id: str, limit: int = 100) -> list[Campaign]:
        """The client's campaigns, newest first."""
        stmt = (
            select(Campaign)
            .where(Campaign.client_id == client_id)
            .order_by(Campaign.created_at.desc())
            .limit(limit)
        )
        return list((await self._session.execute(stmt)).scalars())

    async def due_to_start(self, now: float, limit: int = 10) -> list[Campaign]:
        """Scheduled campaigns whose start has come; concurrent feeders skip each other's."""
        stmt = (
            select(Campaign)
            .where(Campaign.status == "scheduled", Campaign.start_at <= now)
            .order_by(Campaign.start_at)
            .limit(limit)
        )
        if is_postgres(self._session):
            stmt = stmt.with_for_update(skip_locked=True)
        return list((await self._session.execute(stmt)).scalars())

    async def set_status(self, campaign_id: str, status: str, **fields: Any) -> None:
        """Move a campaign to `status` (and set other columns, e.g. `started_at`)."""
        stmt = update(Campaign).where(Campaign.id == campaign_id).values(status=status, **fields)
        await self._session.execute(stmt)

    async def add_recipients(self, rows: list[dict[str, Any]]) -> None:
        """Freeze an audience: one row per contact (the primary key keeps each contact once)."""
        for start in range(0, len(rows), _CHUNK):
            await self._session.execute(insert(CampaignRecipient), rows[start : start + _CHUNK])

    async def claim_due(self, now: float, limit: int, lease_until: float) -> list[dict[str, Any]]:
        """Lease due recipients of running campaigns: {campaign_id, contact_id, template_id}."""
        pick = (
            select(CampaignRecipient.campaign_id, CampaignRecipient.contact_id)
            .join(Campaign, Campaign.id == CampaignRecipient.campaign_id)
            .where(
                Campaign.status == "running",
                CampaignRecipient.status == "pending",
                CampaignRecipient.due_at <= now,
                or_(CampaignRecipient.claimed_until.is_(None), CampaignRecipient.claimed_until < now),
            )
            .order_by(CampaignRecipient.due_at)
            .limit(limit)
        )
        if is_postgres(self._session):
            pick = pick.with_for_update(of=CampaignRecipient, skip_locked=True)
        found = [tuple(r) for r in (await self._session.execute(pick)).all()]
        if not found:
            return []
        by_campaign: dict[str, list[str]] = {}
        for campaign_id, contact_id in found:
            by_campaign.setdefault(campaign_id, []).append(contact_id)
        rows: list[dict[str, Any]] = []
        for campaign_id, contact_ids in by_campaign.items():
            stmt = (
                update(CampaignRecipient)
                .where(
                    CampaignRecipient.campaign_id == campaign_id,
                    any_of(self._session, CampaignRecipient.contact_id, contact_ids),
                )
                .values(claimed_until=lease_until)
                .returning(
                    CampaignRecipient.campaign_id, CampaignRecipient.contact_id, CampaignRecipient.template_id
                )
            )
            rows.extend(r._asdict() for r in (await self._session.execute(stmt)).all())
        return rows

    async def mark(self, campaign_id: str, outcomes: dict[str, tuple[str, str | None, str | None]]) -> None:
        """Record each contact's outcome: contact -> (status, notification id, skip reason)."""
        for contact_id, (status, notification_id, reason) in outcomes.items():
            stmt = (
                update(CampaignRecipient)
                .where(
                    CampaignRecipient.campaign_id == campaign_id, CampaignRecipient.contact_id == contact_id
                )
                .values(
                    status=status, notification_id=notification_id, skip_reason=reason, claimed_until=None
                )
            )
            await self._session.execute(stmt)

    async def cancel_pending(self, campaign_id: str) -> int:
        """Cancel every recipient not yet queued; returns how many."""
        stmt = (
            update(CampaignRecipient)
            .where(CampaignRecipient.campaign_id == campaign_id, CampaignRecipient.status == "pending")
            .values(status="cancelled")
        )
        return int((await self._session.execute(stmt)).rowcount or 0)  # type: ignore[attr-defined]

    async def pending_count(self, campaign_id: str) -> int:
        """Recipients still waiting for their due time."""
        stmt = select(func.count()).where(
            CampaignRecipient.campaign_id == campaign_id, CampaignRecipient.status == "pending"
        )
        return int((await self._session.execute(stmt)).scalar_one())

    async def last_due(self, campaign_id: str) -> float | None:
        """When the last waiting recipient is due (the campaign's ETA)."""
        stmt = select(func.max(CampaignRecipient.due_at)).where(
            CampaignRecipient.campaign_id == campaign_id, CampaignRecipient.status == "pending"
        )
        found = (await self._session.execute(stmt)).scalar_one()
        return float(found) if found is not None else None

    async def running_without_pending(self) -> list[str]:
        """Running campaigns with nobody left to queue (they are finished)."""
        waiting = select(CampaignRecipient.campaign_id).where(
            CampaignRecipient.campaign_id == Campaign.id, CampaignRecipient.status == "pending"
        )
        stmt = select(Campaign.id).where(Campaign.status == "running", ~waiting.exists())
        return list((await self._session.execute(stmt)).scalars())

    async def recent_marketing(
        self, client_id: str, contact_ids: Iterable[str], since: float
    ) -> dict[str, int]:
        """Marketing notifications each contact got since a moment (for frequency caps)."""
        ids = list(contact_ids)
        if not ids:
            return {}
        stmt = (
            select(Notification.contact_id, func.count())
            .where(
                Notification.client_id == client_id,
                Notification.category == "marketing",
                Notification.created_at >= since,
                any_of(self._session, Notification.contact_id, ids),
            )
            .group_by(Notification.contact_id)
        )
        return {contact: int(n) for contact, n in (await self._session.execute(stmt)).all()}

    async def counts(self, campaign_id: str) -> list[dict[str, Any]]:
        """Per variant: recipients by status and skip reason, notifications by status, cost, replies."""
        ours = select(CampaignRecipient.notification_id).where(CampaignRecipient.campaign_id == campaign_id)
        replied = (
            select(InboundMessage.notification_id)
            .where(InboundMessage.direction == "in", InboundMessage.notification_id.in_(ours))
            .distinct()
            .subquery()
        )
        stmt = (
            select(
                CampaignRecipient.template_id,
                CampaignRecipient.status,
                CampaignRecipient.skip_reason,
                Notification.status.label("notification_status"),
                func.count().label("n"),
                func.coalesce(func.sum(Notification.cost_minor), 0).label("cost_minor"),
                func.count(replied.c.notification_id).label("replied"),
            )
            .select_from(CampaignRecipient)
            .outerjoin(Notification, Notification.id == CampaignRecipient.notification_id)
            .outerjoin(replied, replied.c.notification_id == CampaignRecipient.notification_id)
            .where(CampaignRecipient.campaign_id == campaign_id)
            .group_by(
                CampaignRecipient.template_id,
                CampaignRecipient.status,
                CampaignRecipient.skip_reason,
                Notification.status,
            )
        )
        return [r._asdict() for r in (await self._session.execute(stmt)).all()]
