"""Connection upkeep in a worker process: reload connections, and read the long-poll ones.

`run_connections(hub, stop)` reloads the channel router from the database every
`RELOAD_INTERVAL` seconds (the admin API reloads at once in its own process, which also wakes
this loop so new readers start without delay; a CLI change is picked up within the interval)
and keeps one reader task per connection whose events the hub pulls (VK Bots Long Poll,
Telegram getUpdates, SMPP deliver_sm). A reader resumes from the cursor stored on the
connection and stores the new one after each committed batch, so a restart neither loses nor
repeats events.

VK and Telegram keep one event stream per account, so each such connection is read by one
process cluster-wide: the process holding its lease row (`storage.repos.reader_leases`). The
holder renews its leases every third of `readers.lease_seconds`; when it dies, another process
takes the connection over once the lease has run out (within `lease_seconds` plus a third),
and on a clean stop it gives them back at once. A process that cannot renew stops its readers
when its hold runs out. SMPP is not leased: each process's bind gets its own deliver_sm PDUs
(the receipts of what it submitted), which only that process can read and acknowledge.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Protocol

from bots.backoff import Backoff
from bots.base import EventBatch
from hub.channels.adapters import reads_events
from hub.channels.router import ChannelRouter, Link
from hub.clock import Clock, wait_any
from hub.config import Config
from hub.conversations.ingest import EventIngest
from hub.conversations.receive import commit_events
from hub.errors import ConnectionBroken, ConnectionGone
from storage.models import Connection
from storage.uow import UnitOfWork

log = logging.getLogger("notifyhub.readers")


class ReaderHost(Protocol):
    """What readers need of a hub process (`hub.bootstrap.Hub` is one)."""

    @property
    def channels(self) -> ChannelRouter: ...
    @property
    def uow(self) -> Callable[[], UnitOfWork]: ...
    @property
    def clock(self) -> Clock: ...
    @property
    def ingest(self) -> EventIngest: ...
    @property
    def config(self) -> Config: ...
    @property
    def holder(self) -> str: ...


RELOAD_INTERVAL = 5.0


def single_reader(connection: Connection) -> bool:
    """True when the platform keeps one event stream per account, which one process may read."""
    return connection.channel in ("vk", "telegram")


async def run_connections(hub: ReaderHost, stop: asyncio.Event, interval: float = RELOAD_INTERVAL) -> None:
    """Reload connections and supervise their readers until `stop` (or cancellation)."""
    readers = ConnectionReaders(hub)
    pause = min(interval, hub.config.readers.lease_seconds / 3)
    try:
        while not stop.is_set():
            hub.channels.changed.clear()
            try:
                await readers.tick()
                hub.channels.changed.clear()
            except Exception:
                log.exception("reloading connections failed; keeping the current ones")
            await wait_any(pause, stop, hub.channels.changed)
    finally:
        await readers.close()


class ConnectionReaders:
    """This process's readers: one per pulled connection, leased ones only while it holds the lease."""

    def __init__(self, hub: ReaderHost) -> None:
        self._hub = hub
        self._lease_seconds = hub.config.readers.lease_seconds
        self._readers: dict[int, tuple[Link, asyncio.Task[None]]] = {}
        #: Leased connections this process holds, and until when without another renewal.
        self.held: set[int] = set()
        self._held_until = 0.0

    @property
    def reading(self) -> set[int]:
        """Connections whose reader runs in this process now."""
        return {cid for cid, (_, task) in self._readers.items() if not task.done()}

    async def tick(self) -> None:
        """Reload connections, renew or take leases, and start or stop readers to match."""
        hub = self._hub
        await hub.channels.reload(hub.uow, hub.clock.now)
        links = {cid: link for cid, link in hub.channels.links().items() if reads_events(link.connection)}
        leased = {cid for cid, link in links.items() if single_reader(link.connection)}
        try:
            await self._hold(leased)
        except Exception:
            if hub.clock.now() >= self._held_until:  # our hold ran out: someone else may read now
                self._lose(self.held)
                self.held = set()
                self._sync({cid: link for cid, link in links.items() if cid not in leased})
            raise
        self._sync({cid: link for cid, link in links.items() if cid not in leased or cid in self.held})

    async def _hold(self, leased: set[int]) -> None:
        hub = self._hub
        now = hub.clock.now()
        until = now + self._lease_seconds
        async with hub.uow() as uow:
            held = await uow.reader_leases.hold(leased, hub.holder, now, until)
            await uow.commit()
        self._lose(self.held - held)
        self.held, self._held_until = held, until

    def _lose(self, lost: set[int]) -> None:
        for cid in sorted(lost & self.reading):
            log.warning("connection %s: another process holds its lease now; this reader stops", cid)

    def _sync(self, links: dict[int, Link]) -> None:
        """Start readers for connections to read; stop those removed, rebuilt or no longer held."""
        for cid, (link, task) in list(self._readers.items()):
            current = links.get(cid)
            if current is None or current.adapter is not link.adapter:
                task.cancel()
                del self._readers[cid]
        for cid, link in links.items():
            if cid not in self._readers:
                self._readers[cid] = (link, asyncio.create_task(read_connection(self._hub, link)))
                log.info("reading connection %s (%s)", cid, link.connection.channel)

    async def close(self, *, release: bool = True) -> None:
        """Stop every reader and (unless told otherwise) give the leases back for a quick takeover."""
        tasks = [task for _, task in self._readers.values()]
        self._readers = {}
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        held, self.held = self.held, set()
        if release and held:
            with contextlib.suppress(Exception):
                async with self._hub.uow() as uow:
                    await uow.reader_leases.release(held, self._hub.holder)
                    await uow.commit()


async def read_connection(hub: ReaderHost, link: Link) -> None:
    """Feed one connection's event stream into the database, resuming at its stored cursor."""
    cid = link.connection.id
    backoff = Backoff()
    while True:
        async with hub.uow() as uow:
            row = await uow.connections.get(cid)
        if row is None or row.deleted_at is not None:
            return
        try:
            async for batch in link.adapter.events(row.cursor):
                await _commit(hub, cid, batch)
                backoff.reset()
        except ConnectionBroken as e:
            await hub.channels.report_broken(cid, e)
            return  # until the operator replaces the connection
        except ConnectionGone:
            log.info("connection %s was removed; its reader stops", cid)
            return
        except Exception:
            log.exception("reader of connection %s failed; restarting", cid)
        await backoff.sleep()


async def _commit(hub: ReaderHost, cid: int, batch: EventBatch) -> None:
    """Commit one batch (retrying until it is durable) and then its cursor."""
    while True:
        try:
            await commit_events(hub.ingest, hub.uow, cid, batch.events, hub.clock.now(), cursor=batch.cursor)
            return
        except ConnectionGone:
            raise
        except Exception:
            log.exception("committing %d events of connection %s failed; retrying", len(batch.events), cid)
            await asyncio.sleep(1.0)
