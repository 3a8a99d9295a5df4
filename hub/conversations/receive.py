"""Committing what one connection received: receipts and replies, permission changes, the cursor.

Callbacks and long-poll readers both end here. Receipts and replies go through
`EventIngest.apply`; `PermissionEvent`s (VK message_allow/deny, Telegram block/unblock) set the
identity's `allowed` flag; the long-poll cursor is saved in the same transaction, so a stop or
crash at any point either keeps the batch and its cursor or neither (then the batch is read
again; applying it twice changes nothing: replies are unique by platform message id, receipts
and permission flags are idempotent).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from bots.base import ChannelEvent
from bots.events import AnyEvent, PermissionEvent
from hub.conversations.ingest import EventIngest
from storage.uow import UnitOfWork

log = logging.getLogger("notifyhub.receive")


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
