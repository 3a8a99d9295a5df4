"""Conversation threads (one per client and contact) and their messages in both directions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, and_, bindparam, func, or_, select, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import any_of, insert_ignore, is_postgres
from storage.ids import new_id
from storage.models import Contact, Feedback, InboundMessage, Thread
from storage.prebuilt import Prebuilt, insert_ignoring


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


_THREADS: Table = Thread.__table__  # type: ignore[assignment]
_MESSAGES: Table = InboundMessage.__table__  # type: ignore[assignment]
_OF_CONTACTS = Prebuilt(lambda _, among: select(Thread).where(among(Thread.contact_id, "contacts")))
_OPEN = Prebuilt(lambda dialect, _: insert_ignoring(dialect, _THREADS, "client_id", "contact_id"))
_MESSAGE_COLUMNS = [c.name for c in _MESSAGES.c]


def _add_messages(dialect: str, _: object) -> Any:
    """INSERT ... RETURNING id, skipping duplicates. On PostgreSQL the rows come as one array per
    column, unnested: one SQL text (one prepared statement) whatever the batch size, where a
    multi-row VALUES list is a new text for every size."""
    insert = insert_ignoring(dialect, _MESSAGES, "client_id", "channel", "external_id")
    if dialect != "postgresql":
        return insert.returning(_MESSAGES.c.id)
    arrays = [bindparam(f"a_{n}", type_=postgresql.ARRAY(_MESSAGES.c[n].type)) for n in _MESSAGE_COLUMNS]
    rows = func.unnest(*arrays).table_valued(*_MESSAGE_COLUMNS).render_derived()
    return insert.from_select(_MESSAGE_COLUMNS, select(*rows.c)).returning(_MESSAGES.c.id)


_ADD_MESSAGES = Prebuilt(_add_messages)
#: What a customer's reply changes on a thread (agent actions go through the ORM).
_REPLY_STATE = ("status", "needs_agent", "labels", "last_channel", "confirm_pending", "updated_at")
_SAVE_REPLY_STATE = (
    update(_THREADS)
    .where(_THREADS.c.id == bindparam("b_id"))
    .values({name: bindparam(f"b_{name}", type_=_THREADS.c[name].type) for name in _REPLY_STATE})
)


class ThreadRepo:
    """Opens threads on the first message and appends to them; every read is scoped to a client."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def save_reply_state(self, threads: list[Thread]) -> None:
        """Write what replies changed on these threads in one statement (the ORM would send one per
        shape of change), then detach them so the commit does not write them again."""
        if not threads:
            return
        rows = [{"b_id": t.id, **{f"b_{name}": getattr(t, name) for name in _REPLY_STATE}} for t in threads]
        await self._session.execute(_SAVE_REPLY_STATE, rows)
        for thread in threads:
            self._session.expunge(thread)

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
        stmt, params = _OF_CONTACTS.on(self._session), {"contacts": list({c for _, c in pairs})}
        found = {
            (t.client_id, t.contact_id): t for t in (await self._session.execute(stmt, params)).scalars()
        }
        missing = [
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
            for client_id, contact_id in sorted(pairs - found.keys())
        ]
        if missing:  # a first message: create the thread (or find the one a concurrent writer made)
            await self._session.execute(_OPEN.on(self._session), missing)
            found.update(
                {
                    (t.client_id, t.contact_id): t
                    for t in (await self._session.execute(stmt, params)).scalars()
                }
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
        stmt = _ADD_MESSAGES.on(self._session)
        if is_postgres(self._session):
            arrays = {f"a_{n}": [row.get(n) for row in rows] for n in _MESSAGE_COLUMNS}
            return set(await self._session.scalars(stmt, arrays))
        return set((await self._session.execute(stmt, rows)).scalars())

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

    async def by_external(self, client_id: str, channel: str, external_id: str) -> InboundMessage | None:
        """The client's message with this platform id on this channel, if stored."""
        stmt = select(InboundMessage).where(
            InboundMessage.client_id == client_id,
            InboundMessage.channel == channel,
            InboundMessage.external_id == external_id,
        )
        return (await self._session.execute(stmt)).scalar_one_or_none()

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
                update(Thread).where(any_of(self._session, Thread.id, thread_ids)).values(updated_at=now)
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
