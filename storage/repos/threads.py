"""Conversation threads (one per client and contact) and their messages in both directions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from hub.ids import new_id
from storage.db import insert_ignore
from storage.models import Contact, Feedback, InboundMessage, Thread


@dataclass(frozen=True)
class ThreadFilter:
    """What `GET /v1/threads` narrows by; the cursor is (updated_at, id) of the last row seen."""

    status: str | None = None
    label: str | None = None
    needs_agent: bool | None = None
    assignee: str | None = None
    phone: str | None = None
    updated_since: float | None = None
    after: tuple[float, str] | None = None
    limit: int = 50


class ThreadRepo:
    """Opens threads on the first message and appends to them; every read is scoped to a client."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def open_for(self, client_id: str, contact_id: str, thread_id: str, now: float) -> Thread:
        """The contact's thread with the client, created when it does not exist yet (row-locked)."""
        stmt = insert_ignore(self._session, Thread, "client_id", "contact_id").values(
            id=thread_id,
            client_id=client_id,
            contact_id=contact_id,
            status="open",
            needs_agent=False,
            labels=[],
            confirm_pending=False,
            created_at=now,
            updated_at=now,
        )
        await self._session.execute(stmt)
        found = await self._session.execute(
            select(Thread).where(Thread.client_id == client_id, Thread.contact_id == contact_id)
        )
        return found.scalar_one()

    async def open_many(self, pairs: set[tuple[str, str]], now: float) -> dict[tuple[str, str], Thread]:
        """Threads for many (client, contact) pairs, created where missing (one statement when none is)."""
        if not pairs:
            return {}
        rows = [
            {
                "id": new_id("thr"),
                "client_id": client_id,
                "contact_id": contact_id,
                "status": "open",
                "needs_agent": False,
                "labels": [],
                "confirm_pending": False,
                "created_at": now,
                "updated_at": now,
            }
            for client_id, contact_id in sorted(pairs)
        ]
        stmt = select(Thread).where(Thread.contact_id.in_({c for _, c in pairs}))
        found = {(t.client_id, t.contact_id): t for t in (await self._session.execute(stmt)).scalars()}
        missing = [row for row in rows if (row["client_id"], row["contact_id"]) not in found]
        if missing:  # a first message: create the thread (or find the one a concurrent writer made)
            create = insert_ignore(self._session, Thread, "client_id", "contact_id")
            await self._session.execute(create, missing)
            found.update(
                {(t.client_id, t.contact_id): t for t in (await self._session.execute(stmt)).scalars()}
            )
        return {pair: thread for pair, thread in found.items() if pair in pairs}

    async def get(self, thread_id: str, client_id: str) -> Thread | None:
        """A thread, only when it belongs to the client."""
        found = await self._session.get(Thread, thread_id)
        return found if found is not None and found.client_id == client_id else None

    async def of_contact(self, client_id: str, contact_id: str) -> Thread | None:
        """The contact's thread with the client, if any."""
        stmt = select(Thread).where(Thread.client_id == client_id, Thread.contact_id == contact_id)
        return (await self._session.execute(stmt)).scalar_one_or_none()

    async def add_message(self, row: dict[str, Any]) -> bool:
        """Store a message once per (client, channel, platform id); False for a duplicate."""
        stmt = insert_ignore(self._session, InboundMessage, "client_id", "channel", "external_id")
        result = await self._session.execute(stmt.values(row))
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def add_messages(self, rows: list[dict[str, Any]]) -> set[str]:
        """Store many messages in one statement; returns the ids stored (duplicates are left out)."""
        if not rows:
            return set()
        table: Any = InboundMessage.__table__  # Core executemany: compiled once, sent in batches
        stmt = insert_ignore(self._session, table, "client_id", "channel", "external_id")
        return set((await self._session.execute(stmt.returning(table.c.id), rows)).scalars())

    async def messages(self, thread_id: str) -> list[InboundMessage]:
        """A thread's messages, oldest first."""
        stmt = (
            select(InboundMessage)
            .where(InboundMessage.thread_id == thread_id)
            .order_by(InboundMessage.id)  # ids are time-ordered: the order the hub filed them
        )
        return list((await self._session.execute(stmt)).scalars())

    async def message(self, message_id: str, client_id: str) -> InboundMessage | None:
        """One message, only when it belongs to the client."""
        found = await self._session.get(InboundMessage, message_id)
        return found if found is not None and found.client_id == client_id else None

    async def search(self, client_id: str, f: ThreadFilter) -> list[tuple[Thread, str | None]]:
        """Threads (with the contact's phone), most recently updated first."""
        stmt = (
            select(Thread, Contact.phone)
            .join(Contact, Contact.id == Thread.contact_id)
            .where(Thread.client_id == client_id)
        )
        if f.status:
            stmt = stmt.where(Thread.status == f.status)
        if f.needs_agent is not None:
            stmt = stmt.where(Thread.needs_agent == f.needs_agent)
        if f.assignee:
            stmt = stmt.where(Thread.assignee == f.assignee)
        if f.phone:
            stmt = stmt.where(Contact.phone == f.phone)
        if f.updated_since is not None:
            stmt = stmt.where(Thread.updated_at >= f.updated_since)
        if f.label:
            labelled = select(InboundMessage.thread_id).where(
                InboundMessage.client_id == client_id, InboundMessage.label == f.label
            )
            stmt = stmt.where(Thread.id.in_(labelled))
        if f.after is not None:
            at, tid = f.after
            stmt = stmt.where(or_(Thread.updated_at < at, and_(Thread.updated_at == at, Thread.id < tid)))
        stmt = stmt.order_by(Thread.updated_at.desc(), Thread.id.desc()).limit(f.limit)
        return [(t, phone) for t, phone in (await self._session.execute(stmt)).all()]

    async def touch_many(self, thread_ids: list[str], now: float) -> None:
        """Mark threads as changed now (list order and `updated_since`)."""
        if thread_ids:
            await self._session.execute(
                update(Thread).where(Thread.id.in_(thread_ids)).values(updated_at=now)
            )

    async def add_feedback(self, row: dict[str, Any]) -> None:
        """Keep an agent's relabelling as classifier training data."""
        self._session.add(Feedback(**row))

    async def feedback(self, client_id: str) -> list[Feedback]:
        """A client's relabellings, oldest first."""
        stmt = select(Feedback).where(Feedback.client_id == client_id).order_by(Feedback.id)
        return list((await self._session.execute(stmt)).scalars())

    async def flush(self) -> None:
        """Write pending ORM changes now (before a query that must see them)."""
        await self._session.flush()
