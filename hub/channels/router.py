"""Which adapter carries a client's message on a channel: its own connections, else the sandbox.

`ChannelRouter.reload` reads the live connections and builds one real adapter per connection
(VK adapters share a rate limiter per token through one `RateLimiterRegistry` per process;
several SMS connections of a client become one `FailoverSms`, oldest first). Adapters whose
connection is unchanged are kept, removed or changed ones are closed. A client with at least
one connection is live: a channel it has no connection for is unreachable, never the sandbox.
Each client gets its own view of the sandbox (`SandboxChannel.for_client`), so replies go back
to the client that wrote.
A `ConnectionBroken` from any adapter marks its connection broken and logs an alert.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

from bots.base import BaseChannel, EventBatch, OutboundMessage, SendResult
from bots.ratelimit import RateLimiterRegistry
from bots.sandbox import SandboxChannel
from bots.sms import FailoverSms
from hub.channels.adapters import build_adapter
from hub.channels.connections import mark_broken
from hub.errors import ChannelRejected, ConnectionBroken, RecipientUnreachable
from storage.models import Connection
from storage.uow import UnitOfWork

log = logging.getLogger("notifyhub.channels")
OnBroken = Callable[[int, ConnectionBroken], Awaitable[None]]


class GuardedChannel(BaseChannel):
    """One connection's adapter, reporting `ConnectionBroken` before passing it on."""

    def __init__(self, inner: BaseChannel, connection_id: int, on_broken: OnBroken) -> None:
        self.inner = inner
        self.connection_id = connection_id
        self.name = inner.name
        self.can_withdraw = inner.can_withdraw
        self._on_broken = on_broken

    async def send(self, message: OutboundMessage) -> SendResult:
        """Send through the wrapped adapter."""
        try:
            return await self.inner.send(message)
        except ConnectionBroken as e:
            await self._on_broken(self.connection_id, e)
            raise

    async def withdraw(self, message: OutboundMessage, external_id: str) -> bool:
        """Withdraw through the wrapped adapter."""
        try:
            return await self.inner.withdraw(message, external_id)
        except ConnectionBroken as e:
            await self._on_broken(self.connection_id, e)
            raise

    def events(self, cursor: str | None = None) -> AsyncIterator[EventBatch]:
        """The wrapped adapter's event stream."""
        return self.inner.events(cursor)

    async def aclose(self) -> None:
        """Close the wrapped adapter."""
        await self.inner.aclose()


@dataclass(frozen=True)
class Link:
    """A live connection and the adapter built for it."""

    connection: Connection
    adapter: GuardedChannel
    fingerprint: str


def _fingerprint(c: Connection) -> str:
    return json.dumps([c.client_id, c.channel, c.mode, c.settings], sort_keys=True, default=str)


class ChannelRouter:
    """Looks up the adapter for (client, channel); clients without connections use the sandbox."""

    def __init__(
        self, sandbox: dict[str, BaseChannel] | None = None, *, limiters: RateLimiterRegistry | None = None
    ) -> None:
        self._sandbox = sandbox or {}
        self._manual: dict[tuple[str, str], BaseChannel] = {}
        self._limiters = limiters or RateLimiterRegistry()
        self._links: dict[int, Link] = {}
        self._routes: dict[tuple[str, str], BaseChannel] = {}
        self._lock = asyncio.Lock()
        self._uow: Callable[[], UnitOfWork] | None = None
        self._now: Callable[[], float] = lambda: 0.0
        #: Set by every reload that changed something, so readers start without waiting.
        self.changed = asyncio.Event()

    def connect(self, client_id: str, channel: str, adapter: BaseChannel) -> None:
        """Use `adapter` for this client's messages on `channel` (tests and embedding)."""
        self._manual[(client_id, channel)] = adapter

    def adapter(self, client_id: str, channel: str) -> BaseChannel:
        """The adapter for a leg, or an error the cascade understands when there is none."""
        found = self._manual.get((client_id, channel)) or self._routes.get((client_id, channel))
        if found is not None:
            return found
        if any(link.connection.client_id == client_id for link in self._links.values()):
            raise RecipientUnreachable(
                "the client has no connection for this channel", channel=channel, code="no_connection"
            )
        found = self._sandbox.get(channel)
        if found is None:
            raise ChannelRejected("no connection for this channel", channel=channel, code="no_connection")
        return found.for_client(client_id) if isinstance(found, SandboxChannel) else found

    def links(self) -> dict[int, Link]:
        """Live connections by id, with their adapters (for readers and ingress)."""
        return dict(self._links)

    async def reload(self, uow: Callable[[], UnitOfWork], now: Callable[[], float]) -> None:
        """Bring adapters in line with the stored connections; unchanged ones keep running."""
        async with self._lock:
            self._uow, self._now = uow, now
            async with uow() as work:
                live = await work.connections.live()
            fresh: dict[int, Link] = {}
            stale: list[BaseChannel] = []
            for connection in live:
                old = self._links.get(connection.id)
                print_ = _fingerprint(connection)
                if old is not None and old.fingerprint == print_:
                    fresh[connection.id] = Link(connection, old.adapter, print_)
                    continue
                if old is not None:
                    stale.append(old.adapter)
                built = build_adapter(connection, self._limiters)
                adapter = GuardedChannel(built, connection.id, self.report_broken)
                fresh[connection.id] = Link(connection, adapter, print_)
                log.info("connection %s (%s) ready", connection.id, connection.channel)
            stale += [link.adapter for cid, link in self._links.items() if cid not in fresh]
            if (
                stale
                or fresh.keys() != self._links.keys()
                or any(fresh[cid].adapter is not self._links[cid].adapter for cid in fresh)
            ):
                self.changed.set()
            self._links = fresh
            self._routes = _routes(fresh)
        for old_adapter in stale:
            await old_adapter.aclose()

    async def report_broken(self, connection_id: int, error: ConnectionBroken) -> None:
        """Mark the connection broken (status, last_error) and alert at ERROR."""
        if self._uow is None:
            log.error("ALERT connection %s is broken: %s", connection_id, error)
            return
        await mark_broken(self._uow, connection_id, str(error), self._now())

    def all(self) -> list[BaseChannel]:
        """Every adapter, for shutdown."""
        links = [link.adapter for link in self._links.values()]
        return [*self._sandbox.values(), *self._manual.values(), *links]


def _routes(links: dict[int, Link]) -> dict[tuple[str, str], BaseChannel]:
    grouped: dict[tuple[str, str], list[BaseChannel]] = {}
    for cid in sorted(links):
        link = links[cid]
        grouped.setdefault((link.connection.client_id, link.connection.channel), []).append(link.adapter)
    return {
        key: (FailoverSms(adapters) if key[1] == "sms" and len(adapters) > 1 else adapters[0])
        for key, adapters in grouped.items()
    }
