"""Events some platforms add to the shared `ChannelEvent`s: a customer allowing or denying messages.

`bots.base.ChannelEvent` does not list `PermissionEvent` yet; `make_batch` is the one place that
puts both kinds into an `EventBatch` until the agreed interface includes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import cast

from bots.base import Channel, ChannelEvent, EventBatch


@dataclass(frozen=True)
class PermissionEvent:
    """The customer allowed or denied messages from the community/bot (VK message_allow/deny)."""

    channel: Channel
    sender: str
    allowed: bool
    at: datetime
    #: The platform's event id, so a redelivered callback is applied once.
    external_id: str = ""
    connection_id: int | None = None
    #: Deep-link key VK passes with message_allow (`key`), for identity linking.
    ref: str | None = None


AnyEvent = ChannelEvent | PermissionEvent


def make_batch(events: list[AnyEvent], cursor: str | None) -> EventBatch:
    """An `EventBatch` holding permission events too (see the module docstring)."""
    return EventBatch(events=cast(list[ChannelEvent], events), cursor=cursor)
