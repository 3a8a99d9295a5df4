"""A simulated VK/OK/Telegram/SMS network with scripted customers, for the demo and integration.

Clients without connections of their own send here. Each customer behaves as configured
(reads within seconds, never opens the app, answers "СТОП", ...), and the network reports
receipts and replies through `SandboxNetwork.events()` just as a real platform would, late and
out of band. What it received is stored (by leg key, so a resend is deduplicated like VK's
`random_id`), which keeps the simulation honest across worker crashes.

Each client's sandbox is its own: the router hands every client a `SandboxChannel` bound to it,
each stored message remembers the client that sent it, and a customer's reply goes back to that
client only (`InboundMessage.client_id`), however many clients write to the same customer.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any, Protocol

from bots.base import (
    BaseChannel,
    Channel,
    ChannelEvent,
    EventBatch,
    InboundMessage,
    OutboundMessage,
    SendResult,
    StatusEvent,
)
from bots.errors import RecipientUnreachable
from bots.sandbox_customers import SandboxConfig, SandboxCustomer
from bots.segments import count_segments

log = logging.getLogger("notifyhub.sandbox")
_STAGES = (("deliver_at", "delivered"), ("fail_at", "failed"), ("read_at", "read"), ("reply_at", "reply"))
REPLY_DELAY = 1.0


class Clock(Protocol):
    """The time source the network runs on (the hub passes its own, tests a fake)."""

    def now(self) -> float: ...
    async def sleep(self, seconds: float) -> None: ...


class Population(Protocol):
    """Who the sandbox customers are (see `bots.sandbox_customers.SandboxCustomers`)."""

    def by_phone(self, phone: str) -> SandboxCustomer | None: ...
    def by_identity(self, channel: str, user_id: str) -> SandboxCustomer | None: ...


def address(customer: SandboxCustomer, channel: str) -> str | None:
    """The customer's id on a channel (the phone for SMS), or None when they are not on it."""
    if channel == "sms":
        return customer.phone if customer.sms_delivers_after is not None else None
    ident = getattr(customer, channel, None)
    return ident.user_id if ident is not None else None


class SandboxStore(Protocol):
    """Where the network keeps what it received (see `storage.repos.sandbox.SandboxStore`)."""

    async def record_many(self, rows: list[dict[str, Any]]) -> dict[str, int]: ...
    async def due(self, now: float, limit: int) -> list[dict[str, Any]]: ...
    async def advance(self, rows: list[dict[str, Any]]) -> None: ...
    async def withdraw(self, leg_key: str) -> bool: ...


def schedule(customer: SandboxCustomer | None, channel: str, now: float) -> dict[str, Any]:
    """When this customer's receipts and reply happen for a message sent now (pure)."""
    times: dict[str, Any] = {"deliver_at": None, "read_at": None, "fail_at": None, "reply_at": None}
    if channel == "sms":
        after = customer.sms_delivers_after if customer else 1.0
        times["deliver_at" if after is not None else "fail_at"] = now + (after if after is not None else 1.0)
        seen = times["deliver_at"]
    else:
        ident = getattr(customer, channel) if customer else None
        if ident is None:
            return times
        # Telegram reports no delivery at all: the customer just sees it (and may answer).
        seen = now + (ident.delivers_after or 0) if channel == "telegram" else None
        if channel != "telegram" and ident.delivers_after is not None:
            times["deliver_at"] = seen = now + ident.delivers_after
            if ident.reads_after is not None:
                times["read_at"] = seen = seen + ident.reads_after
    if customer and customer.replies and seen is not None:
        times["reply_at"] = seen + REPLY_DELAY
        times["reply_text"] = customer.replies
    return times


def next_stage(row: dict[str, Any], stage: int) -> tuple[str, float] | None:
    """The simulated event number `stage` of a message (in time order), or None when done."""
    planned = sorted((row[col], kind) for col, kind in _STAGES if row.get(col) is not None)
    if stage >= len(planned):
        return None
    at, kind = planned[stage]
    return kind, at


class SandboxNetwork:
    """The simulated platforms: customers, what they received, and the receipts they cause."""

    def __init__(
        self, config: SandboxConfig, store: SandboxStore, clock: Clock, customers: Population
    ) -> None:
        self._config = config
        self._store = store
        self._clock = clock
        self.customers = customers
        self._pending: list[tuple[dict[str, Any], asyncio.Future[int]]] = []
        self._flushing: asyncio.Task[None] | None = None
        #: Flushes storing sends, tracked until done: their senders may have been cancelled meanwhile.
        self._flushes: set[asyncio.Task[None]] = set()

    def directory(self, phone: str, now: float) -> list[dict[str, Any]]:
        """The sandbox customer's messenger accounts, as a client import would give them."""
        customer = self.customers.by_phone(phone)
        if customer is None:
            return []
        found: list[dict[str, Any]] = []
        for channel in ("vk", "ok", "telegram"):
            ident = getattr(customer, channel)
            if ident is not None:
                active = now - ident.last_active_days * 86400
                found.append(
                    {
                        "channel": channel,
                        "external_id": ident.user_id,
                        "last_active_at": active,
                        "allowed": ident.allowed,
                    }
                )
        return found

    async def deliver(self, message: OutboundMessage, client_id: str | None = None) -> SendResult:
        """Accept a message from a client for a simulated customer, scheduling its receipts and reply."""
        customer = self.customers.by_identity(message.channel, message.recipient)
        if message.channel != "sms" and customer is None:
            raise RecipientUnreachable(
                "no such user in the sandbox", channel=message.channel, code="unknown_user"
            )
        if self._config.send_latency:  # the platform's round trip, so a send can be caught mid-way
            await self._clock.sleep(self._config.send_latency)
        now = self._clock.now()
        row: dict[str, Any] = {
            "leg_key": message.leg_key,
            "channel": message.channel,
            "recipient": message.recipient,
            "client_id": client_id,
        }
        row.update(
            text=message.text,
            sent_at=now,
            stage=0,
            withdrawn=False,
            **schedule(customer, message.channel, now),
        )
        row.setdefault("reply_text", None)
        first = next_stage(row, 0)
        row["next_at"] = first[1] if first else None
        units = count_segments(message.text) if message.channel == "sms" else 1
        return SendResult(external_id=f"sbx{await self._record(row)}", units=units)

    async def _record(self, row: dict[str, Any]) -> int:
        """Store a message; sends made in the same loop tick share one transaction."""
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._pending.append((row, future))
        if self._flushing is None:
            self._flushing = asyncio.create_task(self._flush())
            self._flushes.add(self._flushing)
            self._flushing.add_done_callback(self._flushes.discard)
        return await future

    async def aclose(self) -> None:
        """Wait for the flushes under way: each holds a database connection until it has stored its rows."""
        await asyncio.gather(*self._flushes, return_exceptions=True)

    async def _flush(self) -> None:
        await asyncio.sleep(0)  # let every send started in this tick join the batch
        batch, self._pending, self._flushing = self._pending, [], None
        try:
            ids = await self._store.record_many([row for row, _ in batch])
        except Exception as e:
            for _, future in batch:
                if not future.done():
                    future.set_exception(e)
            return
        for row, future in batch:
            if not future.done():
                future.set_result(ids[row["leg_key"]])

    async def withdraw(self, message: OutboundMessage) -> bool:
        """Delete a message before the customer sees it."""
        return await self._store.withdraw(message.leg_key)

    async def due_events(self, limit: int = 500) -> tuple[list[ChannelEvent], list[dict[str, Any]]]:
        """Receipts and replies due now, and the progress to `ack` once they are committed."""
        events: list[ChannelEvent] = []
        progress: list[dict[str, Any]] = []
        for row in await self._store.due(self._clock.now(), limit):
            step = next_stage(row, row["stage"])
            if step is not None:
                events.append(_event(row, *step))
            after = next_stage(row, row["stage"] + 1)
            progress.append(
                {"id": row["id"], "stage": row["stage"] + 1, "next_at": after[1] if after else None}
            )
        return events, progress

    async def ack(self, progress: list[dict[str, Any]]) -> None:
        """Mark events as handled; unacknowledged ones are emitted again (ingest is idempotent)."""
        await self._store.advance(progress)

    async def events(self, cursor: str | None = None) -> AsyncIterator[EventBatch]:
        """Due receipts and replies; a batch is acknowledged when the next one is asked for."""
        while True:
            events, progress = await self.due_events()
            if not progress:
                await self._clock.sleep(self._config.poll_interval)
                continue
            yield EventBatch(events)
            await self.ack(progress)


def _event(row: dict[str, Any], kind: str, ts: float) -> ChannelEvent:
    channel: Channel = row["channel"]
    at = datetime.fromtimestamp(ts, UTC)
    if kind == "reply":  # to the client that wrote (None: a message stored before sandboxes were per client)
        return InboundMessage(
            channel=channel,
            sender=row["recipient"],
            text=row["reply_text"],
            external_id=f"sbx-reply-{row['id']}",
            at=at,
            client_id=row.get("client_id"),
        )
    error = "undeliverable (sandbox)" if kind == "failed" else None
    return StatusEvent(channel=channel, external_id=f"sbx{row['id']}", status=kind, at=at, error=error)  # type: ignore[arg-type]


class SandboxChannel(BaseChannel):
    """One platform of the sandbox network behind the ordinary channel interface, for one client."""

    can_withdraw = True

    def __init__(self, name: Channel, network: SandboxNetwork, client_id: str | None = None) -> None:
        self.name = name
        self.client_id = client_id
        self._network = network
        self.can_withdraw = name != "sms"
        self._bound: dict[str, SandboxChannel] = {}

    def for_client(self, client_id: str) -> SandboxChannel:
        """This platform as `client_id` sends on it: replies to its messages go back to that client only."""
        found = self._bound.get(client_id)
        if found is None:
            found = self._bound[client_id] = SandboxChannel(self.name, self._network, client_id)
        return found

    async def send(self, message: OutboundMessage) -> SendResult:
        """Hand the message to the simulated customer."""
        return await self._network.deliver(message, self.client_id)

    async def withdraw(self, message: OutboundMessage, external_id: str) -> bool:
        """Hide an expired messenger message so the customer never sees it and the SMS both."""
        return await self._network.withdraw(message)
