"""Free-form messages inside a conversation (agent answers, opt-out confirmations).

Each is a one-leg notification without a template (category `reply`), so the dispatcher sends it,
tracks its status like any leg and bills only delivery; the thread keeps it as an `out` message.
Category `reply` passes the opt-out guard: a confirmation of an opt-out must still reach the customer.
"""

from __future__ import annotations

from typing import Any

from hub.config import Config
from hub.delivery.cascade import DEFAULT_UNTIL, LegState
from hub.ids import new_id
from storage.models import Client
from storage.repos.notifications import leg_row
from storage.uow import UnitOfWork

CATEGORY = "reply"


def price_minor(config: Config, client: Client | None, channel: str) -> int:
    """The client's price for a delivered message on this channel, in kopecks."""
    prices = (client.prices if client else None) or {}
    if channel in prices:
        return int(prices[channel])
    return round(config.cascade.prices[channel] * 100)  # type: ignore[index]


async def queue_message(
    uow: UnitOfWork,
    config: Config,
    *,
    client_id: str,
    contact_id: str,
    thread_id: str,
    channel: str,
    text: str,
    author: str,
    now: float,
    category: str = CATEGORY,
) -> dict[str, Any]:
    """Queue one message to the contact on `channel` and file it in the thread; returns the message row."""
    client = await uow.clients.get(client_id)
    nid = new_id("ntf")
    note = {
        "id": nid,
        "client_id": client_id,
        "contact_id": contact_id,
        "template_id": None,
        "text": text,
        "category": category,
        "important": False,
        "status": "queued",
        "final": False,
        "cost_minor": 0,
        "created_at": now,
        "updated_at": now,
    }
    leg = LegState(
        idx=0,
        channel=channel,
        until=DEFAULT_UNTIL[channel],
        ttl=None,
        price_minor=price_minor(config, client, channel),
    )
    accepted = {"notification_id": nid, "at": now, "kind": "accepted", "leg": None, "detail": author}
    await uow.notifications.add_many([note], [leg_row(nid, leg)], [accepted])
    await uow.outbox.add_many([{"notification_id": nid, "due_at": now, "claimed_until": None}])
    message: dict[str, Any] = {
        "id": new_id("msg"),
        "client_id": client_id,
        "contact_id": contact_id,
        "notification_id": nid,
        "channel": channel,
        "external_id": nid,
        "text": text,
        "at": now,
        "thread_id": thread_id,
        "direction": "out",
        "author": author,
    }
    await uow.threads.add_message(message)
    return message
