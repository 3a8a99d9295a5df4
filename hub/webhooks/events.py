"""Client webhook events: Standard Webhooks signing and queueing events into the delivery outbox.

A rotated signing secret keeps signing beside the new one for an overlap (`rotation`,
`signing_secrets`), so receivers can switch secrets without rejecting a delivery.

An event becomes one `webhook_deliveries` row per subscribed endpoint, in the same transaction as
the change it reports, so an event is never lost nor sent for a change that rolled back.
Events of one contact (its thread) share an `order_key` and go out in order.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, get_args

from hub.api.schemas import EventName
from hub.clock import iso
from hub.ids import new_id
from storage.models import WebhookDelivery, WebhookEndpoint
from storage.uow import UnitOfWork

#: Every event a client can subscribe to (the API schema's `EventName`).
EVENTS: tuple[str, ...] = get_args(EventName)
_LEG_EVENTS = {
    "leg_sent": "notification.sent",
    "leg_delivered": "notification.delivered",
    "leg_read": "notification.read",
    "leg_expired": "notification.expired",
}
_FALLBACK_FROM = ("leg_expired", "leg_failed", "leg_skipped")


def new_secret() -> str:
    """A fresh signing secret in the Standard Webhooks form: `whsec_` + base64 of 32 random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` header value: `v1,<base64 HMAC-SHA256 of "id.timestamp.body">`."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{msg_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def headers(secrets: str | Sequence[str], msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The three Standard Webhooks headers plus the content type.

    With several secrets (a rotation's overlap) the signature header carries one `v1,` signature
    per secret, space-separated, oldest first: a receiver holding any of them accepts it.
    """
    keys = [secrets] if isinstance(secrets, str) else secrets
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(sign(key, msg_id, timestamp, body) for key in keys),
        "content-type": "application/json",
    }


def signing_secrets(endpoint: WebhookEndpoint, now: float) -> list[str]:
    """The secrets that sign a delivery now: the old one too while its rotation overlap lasts."""
    previous, until = endpoint.previous_secret, endpoint.previous_until
    if previous and until is not None and until > now:
        return [previous, endpoint.secret]
    return [endpoint.secret]


def rotation(endpoint: WebhookEndpoint, now: float, overlap_seconds: float) -> dict[str, Any]:
    """The endpoint's new column values for a rotation: a fresh secret, the current one kept for the overlap.

    Rotating again during an overlap keeps only the secret being replaced (never more than two).
    """
    if overlap_seconds <= 0:
        return {"secret": new_secret(), "previous_secret": None, "previous_until": None}
    until = now + overlap_seconds
    return {"secret": new_secret(), "previous_secret": endpoint.secret, "previous_until": until}


def encode(payload: dict[str, Any]) -> bytes:
    """The exact bytes sent (and signed) for a stored payload."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


@dataclass(frozen=True)
class Event:
    """One event of one client, to be delivered in order with others of the same `order_key`."""

    client_id: str
    type: str
    order_key: str
    data: dict[str, Any]


async def emit(uow: UnitOfWork, events: Iterable[Event], now: float) -> int:
    """Queue events for every live endpoint of their client that subscribes to them; returns rows."""
    items = list(events)
    if not items:
        return 0
    endpoints = await uow.webhooks.endpoints({e.client_id for e in items})
    if not endpoints:
        return 0
    rows: list[dict[str, Any]] = []
    for event in items:
        for ep in endpoints:
            if ep.client_id != event.client_id or (ep.events and event.type not in ep.events):
                continue
            rows.append(
                {
                    "id": new_id("msg"),
                    "client_id": event.client_id,
                    "endpoint_id": ep.id,
                    "event": event.type,
                    "order_key": event.order_key,
                    "payload": {"type": event.type, "timestamp": iso(now), "data": event.data},
                    "status": "pending",
                    "attempts": 0,
                    "next_attempt_at": now,
                    "claimed_until": None,
                    "created_at": now,
                }
            )
    handed = await _claim_for_handoff(uow, rows, now)
    await uow.webhooks.enqueue(rows)
    if uow.handoff is not None:
        handoff, by_id = uow.handoff, {ep.id: ep for ep in endpoints}
        if handed:
            uow.after_commit(lambda: handoff.hand([WebhookDelivery(**row) for row in handed], by_id))
        behind = {(r["endpoint_id"], r["order_key"]) for r in rows if r["claimed_until"] is None}
        if behind:
            uow.after_commit(lambda: handoff.wait_behind(behind))
    return len(rows)


async def _claim_for_handoff(uow: UnitOfWork, rows: list[dict[str, Any]], now: float) -> list[dict[str, Any]]:
    """Claim for this process's sender the rows that are first in line in their thread.

    A row waits for the claim loop when an earlier delivery of its endpoint and thread is still
    pending (order per thread) or when the sender has no room for its endpoint.
    """
    if uow.handoff is None or not rows:
        return []
    waiting = await uow.webhooks.pending_keys({(r["endpoint_id"], r["order_key"]) for r in rows})
    handed = []
    for row in rows:
        key = (row["endpoint_id"], row["order_key"])
        if key not in waiting and uow.handoff.accepts(row["endpoint_id"]):
            row["claimed_until"] = uow.handoff.lease_until(now)
            handed.append(row)
        waiting.add(key)  # later events of the same thread go after this one
    return handed


def leg_events(heads: dict[str, Any], timeline: list[dict[str, Any]], final: set[str]) -> list[Event]:
    """Webhook events for a round's notification timeline entries (`heads`: NotificationHead by id)."""
    out: list[Event] = []
    for entry in timeline:
        head = heads.get(entry["notification_id"])
        kind = entry["kind"]
        if head is None:
            continue
        data = {
            "notification_id": head.id,
            "leg": entry["leg"],
            "detail": entry["detail"],
            "at": iso(entry["at"]),
        }
        if kind in _LEG_EVENTS:
            out.append(Event(head.client_id, _LEG_EVENTS[kind], head.contact_id, data))
        if kind in _FALLBACK_FROM and head.id not in final:
            out.append(Event(head.client_id, "notification.fallback", head.contact_id, data))
        if kind in ("final_failed", "final_expired", "final_skipped"):
            out.append(Event(head.client_id, "notification.failed", head.contact_id, data))
    return out
