"""The composition root: the only place that picks concrete classes for the hub's ports."""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import secrets
import socket
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncEngine

from bots.base import BaseChannel
from bots.sandbox import SandboxChannel, SandboxNetwork
from bots.sandbox_customers import SandboxCustomers
from hub.campaigns.feeder import CampaignFeeder
from hub.channels.readers import run_connections
from hub.channels.router import ChannelRouter
from hub.clock import Clock, SystemClock
from hub.config import Config
from hub.conversations.ingest import EventIngest
from hub.conversations.threads import ClassifierLike, ReplyHandler
from hub.delivery.dispatch import Dispatcher
from hub.delivery.notify import Acceptor
from hub.security.secrets import box_for
from hub.webhooks.sender import WebhookSender
from hub.webhooks.url_policy import UrlGuard, UrlPolicy
from storage.db import create_engine, is_sqlite, session_factory
from storage.repos.sandbox import SandboxStore
from storage.secret_box import INFO_KEY as SECRETS_INFO_KEY
from storage.secret_box import SecretBox
from storage.uow import UnitOfWork

log = logging.getLogger("notifyhub.hub")


@dataclass
class Hub:
    """Everything one hub process runs on, wired once and passed around."""

    config: Config
    engine: AsyncEngine
    uow: Callable[[], UnitOfWork]
    clock: Clock
    channels: ChannelRouter
    acceptor: Acceptor
    ingest: EventIngest
    network: SandboxNetwork | None = None
    webhook_sender: WebhookSender | None = None
    #: Checks webhook URLs at registration (and the sender before each delivery).
    url_guard: UrlGuard | None = None
    #: Set when this process queued outbox work (see `UnitOfWork`); its dispatchers wake on it.
    doorbell: asyncio.Event | None = None
    #: Starts due campaigns and queues their due recipients (one per worker process).
    feeder: CampaignFeeder | None = None
    #: This process's name in reader leases (host, pid and a random part: unique in the cluster).
    holder: str = field(default_factory=lambda: process_name())
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    _readers: list[asyncio.Task[None]] = field(default_factory=list)
    _stop: asyncio.Event = field(default_factory=asyncio.Event)

    def dispatcher(self, name: str = "worker") -> Dispatcher:
        """A new outbox worker over this hub's database and channels."""
        return Dispatcher(self.config, self.uow, self.channels, self.clock, name, self.doorbell)

    def start_workers(self, count: int | None = None) -> None:
        """Run `count` dispatchers and the channel event readers in the background."""
        count = self.config.dispatch.workers if count is None else count
        self._stop.clear()
        for n in range(count):
            task = asyncio.create_task(self.dispatcher(f"worker-{n + 1}").run(self._stop))
            self._tasks.append(task)
        if self.network is not None and count:
            self._readers.append(asyncio.create_task(self._read_sandbox()))
        if count:
            self._readers.append(asyncio.create_task(self.ingest.reconcile_forever(self._stop)))
        if count and self.webhook_sender is not None:  # finishes its attempts on stop, like a dispatcher
            self._tasks.append(asyncio.create_task(self.webhook_sender.run(self._stop)))
        if count and self.feeder is not None:  # a round cut short is taken up again through its leases
            self._readers.append(asyncio.create_task(self.feeder.run(self._stop)))
        if count:  # connections: periodic reload plus one long-poll reader per pulled connection
            self._readers.append(asyncio.create_task(run_connections(self, self._stop)))

    async def _read_sandbox(self) -> None:
        """Feed the sandbox's receipts and replies to the ingest; a database outage restarts the stream."""
        assert self.network is not None
        while not self._stop.is_set():
            try:
                await self.ingest.run(self.network.events(), self._stop)
            except Exception:
                log.exception("sandbox event stream failed; restarting it")
                await self.clock.sleep(1.0)

    async def stop_workers(self) -> None:
        """Stop claiming; let started sends and webhook attempts finish, hand back the rest.

        Dispatchers give sends under way `dispatch.shutdown_grace` seconds and release the rows
        of the others at once (see `hub.delivery.sending`); a task still running after a margin on top is
        cancelled, and its leases run out. Readers are cancelled outright: a batch not yet
        committed is simply read again later.
        """
        self._stop.set()
        tasks, self._tasks = self._tasks, []
        pending: set[asyncio.Task[None]] = set()
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=self.config.dispatch.shutdown_grace + 10)
        readers, self._readers = self._readers, []
        for task in [*pending, *readers]:
            task.cancel()
        await asyncio.gather(*pending, *readers, return_exceptions=True)

    async def aclose(self) -> None:
        """Stop background work and release connections.

        Work the hub started in tasks of its own (a group commit, a sandbox flush) is awaited first,
        even when whoever waited for it was cancelled: the engine is disposed only once nothing
        holds a connection, so none is left open for the garbage collector to find.
        """
        await self.stop_workers()
        await self.ingest.aclose()
        if self.network is not None:
            await self.network.aclose()
        for adapter in self.channels.all():
            await adapter.aclose()
        if self.webhook_sender is not None:
            await self.webhook_sender.aclose()
        await self.engine.dispose()


def build_hub(
    config: Config,
    *,
    engine: AsyncEngine | None = None,
    channels: ChannelRouter | None = None,
    uow_factory: Callable[[], UnitOfWork] | None = None,
    clock: Clock | None = None,
    classifier: ClassifierLike | None = None,
    secrets: SecretBox | None = None,
    url_guard: UrlGuard | None = None,
) -> Hub:
    """Wire a hub from configuration; tests pass fakes for any port."""
    clock = clock or SystemClock()
    secrets = secrets or box_for(config)  # before anything else: PostgreSQL without a key stops here
    url_guard = url_guard or UrlGuard(UrlPolicy.from_config(config.webhooks))
    engine = engine or create_engine(
        config.database.url, pool_size=config.database.pool_size, echo=config.database.echo
    )
    sessions = session_factory(engine)
    sessions.configure(info={SECRETS_INFO_KEY: secrets})  # repositories seal and open secrets with it
    lock = asyncio.Lock() if is_sqlite(engine) else None
    # new webhook deliveries go straight to this process's sender while it runs (`accepts`)
    doorbell = asyncio.Event()  # rung when a commit queues outbox work: idle dispatchers look at once
    uow = uow_factory or (lambda: UnitOfWork(sessions, lock, handoff=sender, doorbell=doorbell))
    network = None
    if config.sandbox.enabled:
        customers = SandboxCustomers(config.sandbox.customers, generated=config.sandbox.generated)
        network = SandboxNetwork(config.sandbox, SandboxStore(sessions, lock), clock, customers)
    if channels is None:
        sandbox: dict[str, BaseChannel] = {}
        if network is not None:
            sandbox = {name: SandboxChannel(name, network) for name in ("vk", "ok", "telegram", "sms")}
        channels = ChannelRouter(sandbox)
    acceptor = Acceptor(config, network.directory if network else None)
    replies = ReplyHandler(config, (lambda: classifier) if classifier is not None else _shared_classifier)
    ingest = EventIngest(uow, clock, replies, parked_cap=config.security.parked_receipts_per_connection)
    sender = WebhookSender(uow, clock, guard=url_guard)
    feeder = CampaignFeeder(uow, acceptor, clock)
    return Hub(
        config, engine, uow, clock, channels, acceptor, ingest, network, sender, url_guard, doorbell, feeder
    )


def process_name() -> str:
    """A name for this hub process, unique among the processes sharing the database."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{secrets.token_hex(4)}"


@functools.cache
def _shared_classifier() -> ClassifierLike:
    """The shipped reply classifier, loaded on first use and shared by the process.

    Imported from `nlu.classifier` (not the `nlu` package) so an editable install made before
    `nlu/` existed, which maps `nlu` as a namespace package, still finds it.
    """
    from nlu.classifier import Classifier

    return Classifier()
