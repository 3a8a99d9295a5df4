"""JSON shapes of stored things as the API and CLI show them."""

from __future__ import annotations

from typing import Any

from hub.clock import iso
from hub.delivery.cascade import LegState
from storage.uow import UnitOfWork

_PUBLIC_STATUS = {"sending": "queued"}


def money(minor: int) -> float:
    """Minor units (kopecks) as a decimal amount."""
    return round(minor / 100, 2)


def leg_view(leg: LegState) -> dict[str, Any]:
    """One leg of a notification."""
    return {
        "channel": leg.channel,
        "status": _PUBLIC_STATUS.get(leg.status, leg.status),
        "ttl": leg.ttl,
        "until": leg.until,
        "sent_at": iso(leg.sent_at),
        "delivered_at": iso(leg.delivered_at),
        "read_at": iso(leg.read_at),
        "error": leg.error,
        "price": money(leg.price_minor * leg.units),
        #: An expired message's withdrawal: pending, withdrawn, refused, unsupported, failed (or None).
        "withdrawal": leg.withdrawal,
    }


async def notification_view(uow: UnitOfWork, notification_id: str, client_id: str) -> dict[str, Any] | None:
    """A notification with legs, cost and timeline, or None when the client has no such notification."""
    async with uow:
        note = await uow.notifications.get(notification_id, client_id)
        if note is None:
            return None
        legs = (await uow.notifications.legs([note.id])).get(note.id, [])
        events = await uow.notifications.events(note.id)
        contact = (await uow.contacts.get_many([note.contact_id]))[note.contact_id]
        replies = await uow.inbound.for_notification(note.id)
    return {
        "id": note.id,
        "status": note.status,
        "final": note.final,
        "to": {"phone": contact.phone},
        "template_id": note.template_id,
        "reference": note.reference,
        "idempotency_key": note.idempotency_key,
        "text": note.text,
        "created_at": iso(note.created_at),
        "cost": money(note.cost_minor),
        "currency": "RUB",
        "legs": [leg_view(leg) for leg in legs],
        "events": [{"at": iso(e.at), "kind": e.kind, "leg": e.leg, "detail": e.detail} for e in events],
        "replies": [{"at": iso(r.at), "channel": r.channel, "text": r.text} for r in replies],
    }
