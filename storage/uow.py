"""The unit of work: one transaction, its repositories, and an explicit commit.

On SQLite a process-wide lock makes units of work take turns (SQLite has one writer at a time,
and waiting on an asyncio lock is far cheaper than SQLite's sleeping busy handler).

async with uow:
    await uow.templates.add(...)
    await uow.commit()      # without this, leaving the block rolls back
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from types import TracebackType

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.repos.audiences import AudienceRepo
from storage.repos.audit import AuditRepo
from storage.repos.campaigns import CampaignRepo
from storage.repos.clients import ClientRepo
from storage.repos.connections import ConnectionRepo
from storage.repos.contacts import ContactRepo
from storage.repos.directory import DirectoryRepo
from storage.repos.inbound import InboundRepo
from storage.repos.links import LinkRepo
from storage.repos.notifications import NotificationRepo
from storage.repos.outbox import OutboxRepo
from storage.repos.reader_leases import ReaderLeaseRepo
from storage.repos.reports import ReportRepo
from storage.repos.sandbox import SandboxRepo
from storage.repos.sessions import WebSessionRepo
from storage.repos.templates import TemplateRepo
from storage.repos.threads import ThreadRepo
from storage.repos.webhooks import DeliveryHandoff, WebhookRepo


class UnitOfWork:
    """A transaction scope over the repositories; rolls back unless `commit()` was awaited."""

    clients: ClientRepo
    templates: TemplateRepo
    contacts: ContactRepo
    notifications: NotificationRepo
    outbox: OutboxRepo
    reports: ReportRepo
    inbound: InboundRepo
    sandbox: SandboxRepo
    connections: ConnectionRepo
    threads: ThreadRepo
    webhooks: WebhookRepo
    audit: AuditRepo
    links: LinkRepo
    campaigns: CampaignRepo
    web_sessions: WebSessionRepo
    reader_leases: ReaderLeaseRepo
    audiences: AudienceRepo
    directory: DirectoryRepo

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        lock: asyncio.Lock | None = None,
        handoff: DeliveryHandoff | None = None,
        doorbell: asyncio.Event | None = None,
    ) -> None:
        self._sessions = sessions
        self._lock = lock
        self._session: AsyncSession | None = None
        self._before_commit: list[Callable[[UnitOfWork], Awaitable[None]]] = []
        self._after_commit: list[Callable[[], None]] = []
        #: This process's webhook sender, when it runs: new deliveries go to it straight after commit.
        self.handoff = handoff
        #: Set after a commit that queued outbox work, so this process's idle workers look at once.
        self._doorbell = doorbell

    async def __aenter__(self) -> UnitOfWork:
        if self._lock is not None:
            await self._lock.acquire()
        session = self._session = self._sessions()
        self.clients = ClientRepo(session)
        self.templates = TemplateRepo(session)
        self.contacts = ContactRepo(session)
        self.notifications = NotificationRepo(session)
        self.outbox = OutboxRepo(session, None if self._doorbell is None else self._ring)
        self.reports = ReportRepo(session)
        self.inbound = InboundRepo(session)
        self.sandbox = SandboxRepo(session)
        self.connections = ConnectionRepo(session)
        self.threads = ThreadRepo(session)
        self.webhooks = WebhookRepo(session)
        self.audit = AuditRepo(session)
        self.links = LinkRepo(session)
        self.campaigns = CampaignRepo(session)
        self.web_sessions = WebSessionRepo(session)
        self.reader_leases = ReaderLeaseRepo(session)
        self.audiences = AudienceRepo(session)
        self.directory = DirectoryRepo(session)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._session is not None
        # close() rolls back anything uncommitted and detaches objects without expiring them
        try:
            await self._session.close()
        finally:
            self._session = None
            self._after_commit = []
            if self._lock is not None:
                self._lock.release()

    async def commit(self) -> None:
        """Make everything done in this block durable (`before_commit` hooks run first, in it)."""
        assert self._session is not None
        hooks, self._before_commit = self._before_commit, []
        for hook in hooks:
            await hook(self)
        await self._session.commit()
        done, self._after_commit = self._after_commit, []
        for callback in done:
            callback()

    def _ring(self) -> None:
        if self._doorbell is not None:
            self.after_commit(self._doorbell.set)

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Call `callback` once this transaction is durable (never when it rolls back)."""
        self._after_commit.append(callback)

    def before_commit(self, hook: Callable[[UnitOfWork], Awaitable[None]]) -> None:
        """Run `hook` inside the next commit's transaction (the audit log rides along with the action)."""
        self._before_commit.append(hook)
