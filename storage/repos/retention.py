"""Retention: blank or delete message texts and personal data older than a cutoff, in short batches.

Each batch is its own transaction over at most `batch_size` rows, walked by primary key, so a
purge of a big database never holds it for long and can be interrupted and run again. What is
kept (counts, statuses, costs, labels, ratings, timestamps) is exactly what the reports and
survey results read; see `hub.security.retention` for the list of what goes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import ColumnElement, delete, exists, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import InstrumentedAttribute

from storage.models import (
    Contact,
    Feedback,
    GroupMember,
    Identity,
    InboundMessage,
    Leg,
    LinkToken,
    Notification,
    PendingReceipt,
    SandboxMessage,
    WebhookDelivery,
)
from storage.repos.directory import PROFILE

Apply = Callable[[AsyncSession, list[Any]], Awaitable[None]]


class RetentionStore:
    """The purge's statements; every method returns how many rows it changed (or would change)."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], batch_size: int = 1000) -> None:
        self._sessions = sessions
        self._batch = batch_size

    async def _sweep(
        self, pk: InstrumentedAttribute[Any], where: ColumnElement[bool], apply: Apply, dry_run: bool
    ) -> int:
        """Apply `apply` to the matching rows, a batch (one transaction) at a time."""
        if dry_run:
            async with self._sessions() as session:
                count = select(func.count()).select_from(pk.class_).where(where)
                return int((await session.execute(count)).scalar_one())
        done, last = 0, None
        while True:
            async with self._sessions() as session, session.begin():
                stmt = select(pk).where(where)
                if last is not None:
                    stmt = stmt.where(pk > last)
                ids = list((await session.execute(stmt.order_by(pk).limit(self._batch))).scalars())
                if ids:
                    await apply(session, ids)
            if not ids:
                return done
            done, last = done + len(ids), ids[-1]

    async def notification_texts(self, cutoff: float, dry_run: bool) -> int:
        """Finished notifications: text, reference, idempotency key and fingerprint; legs' recipients."""
        where = (Notification.created_at < cutoff) & Notification.final.is_(True)
        where &= (
            (Notification.text != "")
            | Notification.reference.is_not(None)
            | Notification.idempotency_key.is_not(None)
        )

        async def blank(session: AsyncSession, ids: list[Any]) -> None:
            blanked = {"text": "", "reference": None, "idempotency_key": None, "request_fingerprint": None}
            await session.execute(update(Notification).where(Notification.id.in_(ids)).values(**blanked))
            legs = update(Leg).where(Leg.notification_id.in_(ids), Leg.recipient.is_not(None))
            await session.execute(legs.values(recipient=None))

        return await self._sweep(Notification.id, where, blank, dry_run)

    async def message_texts(self, cutoff: float, dry_run: bool) -> int:
        """Thread messages, both directions: the text (labels, ratings and links stay)."""
        where = (InboundMessage.at < cutoff) & (InboundMessage.text != "")

        async def blank(session: AsyncSession, ids: list[Any]) -> None:
            await session.execute(update(InboundMessage).where(InboundMessage.id.in_(ids)).values(text=""))

        return await self._sweep(InboundMessage.id, where, blank, dry_run)

    async def _delete(self, pk: InstrumentedAttribute[Any], where: ColumnElement[bool], dry_run: bool) -> int:
        async def remove(session: AsyncSession, ids: list[Any]) -> None:
            await session.execute(delete(pk.class_).where(pk.in_(ids)))

        return await self._sweep(pk, where, remove, dry_run)

    async def feedback(self, cutoff: float, dry_run: bool) -> int:
        """Agents' relabellings (training data made of customers' texts): deleted."""
        return await self._delete(Feedback.id, Feedback.at < cutoff, dry_run)

    async def sandbox_messages(self, cutoff: float, dry_run: bool) -> int:
        """What the simulated network received, once nothing more is scheduled for it: deleted."""
        where = (SandboxMessage.sent_at < cutoff) & SandboxMessage.next_at.is_(None)
        return await self._delete(SandboxMessage.id, where, dry_run)

    async def webhook_deliveries(self, cutoff: float, dry_run: bool) -> int:
        """Delivered and dead webhook deliveries (their payloads carry texts and phones): deleted."""
        where = (WebhookDelivery.created_at < cutoff) & (WebhookDelivery.status != "pending")
        return await self._delete(WebhookDelivery.seq, where, dry_run)

    async def pending_receipts(self, cutoff: float, dry_run: bool) -> int:
        """Receipts that never found their send: deleted."""
        return await self._delete(PendingReceipt.id, PendingReceipt.at < cutoff, dry_run)

    async def link_tokens(self, cutoff: float, dry_run: bool) -> int:
        """Deep-link tokens (used or expired) issued before the cutoff: deleted."""
        where = (LinkToken.created_at < cutoff) & (
            LinkToken.used_at.is_not(None) | (LinkToken.expires_at < cutoff)
        )
        return await self._delete(LinkToken.id, where, dry_run)

    async def idle_contacts(self, cutoff: float, dry_run: bool) -> int:
        """Contacts with no activity since the cutoff: phone, profile, identities, groups, links removed.

        Opted-out contacts keep theirs: the suppression must outlive the retention period.
        """
        cid = Contact.id
        where = (Contact.created_at < cutoff) & Contact.opted_out.is_(False)
        where &= Contact.phone.is_not(None) | exists().where(Identity.contact_id == cid)
        where &= ~exists().where(Notification.contact_id == cid, Notification.created_at >= cutoff)
        where &= ~exists().where(InboundMessage.contact_id == cid, InboundMessage.at >= cutoff)
        recent = or_(Identity.last_active_at >= cutoff, Identity.linked_at >= cutoff)
        where &= ~exists().where(Identity.contact_id == cid, recent)

        async def anonymise(session: AsyncSession, ids: list[Any]) -> None:
            values: dict[str, Any] = {c: None for c in PROFILE}
            values.update(phone=None, marketing_consent=False)
            await session.execute(update(Contact).where(Contact.id.in_(ids)).values(**values))
            await session.execute(delete(GroupMember).where(GroupMember.contact_id.in_(ids)))
            await session.execute(delete(Identity).where(Identity.contact_id.in_(ids)))
            await session.execute(delete(LinkToken).where(LinkToken.contact_id.in_(ids)))

        return await self._sweep(Contact.id, where, anonymise, dry_run)
