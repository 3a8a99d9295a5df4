"""Committing what one connection received: receipts and replies, permission changes, the cursor.

Callbacks and long-poll readers both end here. Receipts and replies go through
`EventIngest.apply`; `PermissionEvent`s (VK message_allow/deny, Telegram block/unblock) set the
identity's `allowed` flag; the long-poll cursor is saved in the same transaction, so a stop or
crash at any point either keeps the batch and its cursor or neither (then the batch is read
again; applying it twice changes nothing: replies are unique by platform message id, receipts
and permission flags are idempotent).

Platforms (and whoever posts in their name) may send texts PostgreSQL cannot store: a NUL, or a
lone UTF-16 surrogate (`"\\ud800"` is valid JSON). `storable_events` removes the one and replaces
the other with U+FFFD, and drops events whose ids do not fit their columns, before any commit.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Sequence
from typing import Any

from bots.base import ChannelEvent
from bots.events import AnyEvent, PermissionEvent
from hub.conversations.ingest import EventIngest
from storage.uow import UnitOfWork

log = logging.getLogger("notifyhub.receive")
#: Longest platform id (sender, message id) the tables hold; a phone is at most 20 characters.
MAX_ID, MAX_PHONE = 64, 20


def storable_text(text: str) -> str:
    """`text` without NUL characters and with lone surrogates replaced (U+FFFD)."""
    if "\x00" in text:
        text = text.replace("\x00", "")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a surrogate pair written as two code points is joined, a lone one replaced
        text = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return text


def storable_events(events: Sequence[AnyEvent]) -> tuple[list[AnyEvent], int]:
    """The events cleaned for storage, and how many were dropped for ids too long to store."""
    kept: list[AnyEvent] = []
    for event in events:
        changes: dict[str, Any] = {}
        for f in dataclasses.fields(event):
            value = getattr(event, f.name)
            if isinstance(value, str) and (cleaned := storable_text(value)) != value:
                changes[f.name] = cleaned
        if changes:
            event = dataclasses.replace(event, **changes)
        if _fits(event):
            kept.append(event)
    if len(kept) != len(events):
        log.warning("dropped %d events whose ids are too long to store", len(events) - len(kept))
    return kept, len(events) - len(kept)


def _fits(event: AnyEvent) -> bool:
    sender = getattr(event, "sender", "")
    longest = MAX_PHONE if event.channel == "sms" else MAX_ID
    phone = getattr(event, "phone", None)
    return (
        len(event.external_id) <= MAX_ID
        and len(sender) <= longest
        and (phone is None or len(phone) <= MAX_PHONE)
    )


async def commit_events(
    ingest: EventIngest,
    uow: Callable[[], UnitOfWork],
    connection_id: int,
    events: Sequence[AnyEvent],
    now: float,
    *,
    cursor: str | None = None,
) -> None:
    """Make one batch from one connection durable; returns only after everything is committed."""
    events, _ = storable_events(events)
    permissions = [e for e in events if isinstance(e, PermissionEvent)]
    others: list[ChannelEvent] = [e for e in events if not isinstance(e, PermissionEvent)]

    async def _rest(work: UnitOfWork) -> None:
        client_id = await work.connections.client_of(connection_id) if permissions else None
        for event in permissions if client_id else []:
            assert client_id is not None
            known = await work.contacts.set_allowed(client_id, event.channel, event.sender, event.allowed)
            log.info(
                "connection %s: %s messages %s%s",
                connection_id,
                event.channel,
                "allowed" if event.allowed else "denied",
                "" if known else " (unknown identity)",
            )
        if cursor is not None:
            await work.connections.saw_events(connection_id, now, cursor)

    # one transaction: the events and the cursor after them are durable together, or neither is
    needed = bool(permissions) or cursor is not None
    await ingest.apply(others, also=_rest if needed else None, source=connection_id)
