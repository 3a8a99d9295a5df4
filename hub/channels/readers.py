"""Connection upkeep in a worker process: reload connections, and read the long-poll ones.

`run_connections(hub, stop)` reloads the channel router from the database every
`RELOAD_INTERVAL` seconds (the admin API reloads at once in its own process, which also wakes
this loop so new readers start without delay; a CLI change is picked up within the interval)
and keeps one reader task per connection whose events the hub pulls (VK Bots Long Poll,
Telegram getUpdates, SMPP deliver_sm). A reader resumes from the cursor stored on the
connection and stores the new one after each committed batch, so a restart neither loses nor
repeats events.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Protocol

from bots.backoff import Backoff
from bots.base import EventBatch
from hub.channels.adapters import reads_events
from hub.channels.router import ChannelRouter, Link
from hub.clock import Clock, wait_any
from hub.conversations.ingest import EventIngest
from hub.conversations.receive import commit_events
from hub.errors import ConnectionBroken, ConnectionGone
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


RELOAD_INTERVAL = 5.0


async def run_connections(hub: ReaderHost, stop: asyncio.Event, interval: float = RELOAD_INTERVAL) -> None:
    """Reload connections and supervise their readers until `stop` (or cancellation)."""
    readers: dict[int, tuple[Link, asyncio.Task[None]]] = {}
    try:
        while not stop.is_set():
            hub.channels.changed.clear()
            try:
                await hub.channels.reload(hub.uow, hub.clock.now)
                _sync(hub, readers)
                hub.channels.changed.clear()
            except Exception:
                log.exception("reloading connections failed; keeping the current ones")
            await wait_any(interval, stop, hub.channels.changed)
    finally:
        tasks = [task for _, task in readers.values()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def _sync(hub: ReaderHost, readers: dict[int, tuple[Link, asyncio.Task[None]]]) -> None:
    """Start readers for new pulled connections; stop those removed or rebuilt."""
    links = {cid: link for cid, link in hub.channels.links().items() if reads_events(link.connection)}
    for cid, (link, task) in list(readers.items()):
        current = links.get(cid)
        if current is None or current.adapter is not link.adapter:
            task.cancel()
            del readers[cid]
    for cid, link in links.items():
        if cid not in readers:
            readers[cid] = (link, asyncio.create_task(read_connection(hub, link)))
            log.info("reading connection %s (%s)", cid, link.connection.channel)


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
