"""The one interface every channel adapter implements, and the value objects crossing it.

The hub never imports vkbottle, aiogram or httpx details: it hands an `OutboundMessage` to
`BaseChannel.send`, gets a `SendResult` back or one of the `hub.errors.ChannelError` subclasses,
and reads `ChannelEvent`s (delivery/read receipts and inbound replies) from `events()`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from types import TracebackType
from typing import Literal

Channel = Literal["vk", "ok", "telegram", "sms"]
CHANNELS: tuple[Channel, ...] = ("vk", "ok", "telegram", "sms")
#: The category of a message asking the customer to share their phone number (identity linking).
ASK_PHONE = "ask_phone"


@dataclass(frozen=True)
class OutboundMessage:
    """One leg's message, addressed to a platform identity."""

    #: Stable per notification leg; adapters derive the platform's dedupe key from it (VK random_id).
    leg_key: str
    channel: Channel
    #: Platform identity: VK/OK user id, Telegram chat id, or an E.164 phone for SMS.
    recipient: str
    text: str
    #: Template category (otp, transactional, service, marketing): VK maps it to a message intent.
    category: str = "service"
    #: Which client connection sends it; None means the client's sandbox.
    connection_id: int | None = None

    @property
    def ask_phone(self) -> bool:
        """True when the message asks for the customer's phone: adapters add their share-phone button."""
        return self.category == ASK_PHONE


@dataclass(frozen=True)
class SendResult:
    """What the platform answered: its message id, and `delivered` when it confirms at once."""

    external_id: str
    status: Literal["sent", "delivered"] = "sent"
    #: Billable units (SMS segments); messengers bill one.
    units: int = 1


@dataclass(frozen=True)
class StatusEvent:
    """A receipt from the platform for a message we sent."""

    channel: Channel
    external_id: str
    status: Literal["delivered", "read", "failed"]
    at: datetime
    error: str | None = None


@dataclass(frozen=True)
class InboundMessage:
    """A customer's message to the client, normalised from any platform."""

    channel: Channel
    #: Platform identity of the sender (VK/OK user id, Telegram chat id, phone for SMS).
    sender: str
    text: str
    #: The platform's own id of this message: duplicates with the same id are stored once.
    external_id: str
    at: datetime
    connection_id: int | None = None
    #: Phone number when the platform tells it (SMS sender, Telegram shared contact).
    phone: str | None = None
    #: Deep-link payload (VK `ref`, Telegram `/start <token>`) used for identity linking.
    ref: str | None = None
    #: The client written to, when the platform itself says so without a connection: only the
    #: sandbox sets it (each client's sandbox is its own); real platforms name a connection instead.
    client_id: str | None = None


ChannelEvent = StatusEvent | InboundMessage


@dataclass(frozen=True)
class EventBatch:
    """Events read together, and the cursor to resume after them once they are committed."""

    events: list[ChannelEvent] = field(default_factory=list)
    cursor: str | None = None


class BaseChannel:
    """A channel adapter: send messages, optionally withdraw them, stream receipts and replies."""

    name: Channel
    #: True where the platform lets us delete a sent message (VK, Telegram): used when a leg expires.
    can_withdraw: bool = False

    async def send(self, message: OutboundMessage) -> SendResult:
        """Deliver one message or raise a `hub.errors.ChannelError` subclass."""
        raise NotImplementedError

    async def withdraw(self, message: OutboundMessage, external_id: str) -> bool:
        """Remove a sent message from the customer's view; False where impossible."""
        return False

    async def events(self, cursor: str | None = None) -> AsyncIterator[EventBatch]:
        """Receipts and replies, resumable after `cursor`; channels with only webhooks yield none."""
        await asyncio.Event().wait()  # pragma: no cover - push-only channels never yield
        yield EventBatch()  # pragma: no cover

    async def aclose(self) -> None:
        """Release network resources."""

    async def __aenter__(self) -> BaseChannel:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
