"""Notifications, their legs and timelines, and receipts waiting for their send to be recorded."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any, NamedTuple

from sqlalchemy import Table, bindparam, delete, insert, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import any_of, is_postgres
from storage.legs import LegState
from storage.models import Leg, Notification, NotificationEvent, PendingReceipt

_LEG_FIELDS = tuple(f for f in LegState.__dataclass_fields__ if f != "idx")


_LEGS: Table = Leg.__table__  # type: ignore[assignment]
#: LegState's fields in order, then the notification id: rows map onto LegState positionally.
_LEG_COLUMNS = [_LEGS.c[f] for f in (*LegState.__dataclass_fields__, "notification_id")]
_UPDATE_LEG = update(_LEGS).where(_LEGS.c.id == bindparam("b_id"))
_NOTES: Table = Notification.__table__  # type: ignore[assignment]
_UPDATE_NOTE = update(_NOTES).where(_NOTES.c.id == bindparam("b_id"))


class NotificationHead(NamedTuple):
    """What workers and receipts need of a notification (a tuple: thousands are built per second)."""

    id: str
    client_id: str
    contact_id: str
    text: str
    category: str
    important: bool
    status: str
    final: bool
    cost_minor: int


_HEAD_COLUMNS = [_NOTES.c[f] for f in NotificationHead._fields]


def leg_state(row: Any) -> LegState:
    """The cascade's view of a stored leg (a row selected with `_LEG_COLUMNS`)."""
    return LegState(*row[:-1])


def leg_row(notification_id: str, leg: LegState) -> dict[str, Any]:
    """A stored leg's columns from the cascade's view."""
    row = {f: getattr(leg, f) for f in _LEG_FIELDS}
    row.update(id=f"{notification_id}.{leg.idx}", notification_id=notification_id, idx=leg.idx)
    return row


def _without(row: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k not in keys}


class NotificationRepo:
    """Writes notifications in batches and hands the dispatcher consistent snapshots of them."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def by_idempotency(self, client_id: str, keys: Iterable[str]) -> dict[str, Notification]:
        """Notifications already accepted under these idempotency keys."""
        wanted = set(keys)
        if not wanted:
            return {}
        stmt = select(Notification).where(
            Notification.client_id == client_id, any_of(self._session, Notification.idempotency_key, wanted)
        )
        return {
            n.idempotency_key: n for n in (await self._session.execute(stmt)).scalars() if n.idempotency_key
        }

    async def add_many(
        self, notifications: list[dict[str, Any]], legs: list[dict[str, Any]], events: list[dict[str, Any]]
    ) -> None:
        """Insert accepted notifications with their legs and first timeline entries."""
        if notifications:
            await self._session.execute(insert(_NOTES), notifications)
            await self._session.execute(insert(_LEGS), legs)
        await self.add_events(events)

    async def add_events(self, events: list[dict[str, Any]]) -> None:
        """Append timeline entries: dicts of notification_id, at, kind, leg, detail."""
        if events:
            await self._session.execute(insert(NotificationEvent.__table__), events)  # type: ignore[arg-type]

    async def get(self, notification_id: str, client_id: str | None = None) -> Notification | None:
        """A notification, only if it belongs to `client_id` when one is given."""
        found = await self._session.get(Notification, notification_id)
        if found is None or (client_id is not None and found.client_id != client_id):
            return None
        return found

    async def of_contact(self, client_id: str, contact_id: str, limit: int = 50) -> list[Notification]:
        """A contact's templated notifications, newest first (for the conversation view)."""
        stmt = (
            select(Notification)
            .where(
                Notification.client_id == client_id,
                Notification.contact_id == contact_id,
                Notification.template_id.is_not(None),
            )
            .order_by(Notification.created_at.desc())
            .limit(limit)
        )
        return list((await self._session.execute(stmt)).scalars())

    async def lock(self, ids: Iterable[str]) -> dict[str, NotificationHead]:
        """Load notifications, row-locked on PostgreSQL so receipts and workers take turns."""
        stmt = (
            select(*_HEAD_COLUMNS).where(any_of(self._session, _NOTES.c.id, set(ids))).order_by(_NOTES.c.id)
        )
        if is_postgres(self._session):
            stmt = stmt.with_for_update()
        return {r[0]: NotificationHead._make(r) for r in (await self._session.execute(stmt)).all()}

    async def legs(self, ids: Iterable[str]) -> dict[str, list[LegState]]:
        """The legs of these notifications in route order."""
        found: dict[str, list[LegState]] = defaultdict(list)
        stmt = select(*_LEG_COLUMNS).where(any_of(self._session, _LEGS.c.notification_id, set(ids)))
        for row in (await self._session.execute(stmt.order_by(_LEGS.c.notification_id, _LEGS.c.idx))).all():
            found[row[-1]].append(leg_state(row))
        return found

    async def events(self, notification_id: str) -> list[NotificationEvent]:
        """The timeline of one notification, oldest first."""
        stmt = (
            select(NotificationEvent)
            .where(NotificationEvent.notification_id == notification_id)
            .order_by(NotificationEvent.id)
        )
        return list((await self._session.execute(stmt)).scalars())

    async def save_legs(self, rows: list[dict[str, Any]]) -> None:
        """Write changed legs back (rows from `leg_row`)."""
        if rows:
            await self._session.execute(_UPDATE_LEG, [{"b_id": r["id"], **_without(r, "id")} for r in rows])

    async def save_status(self, rows: list[dict[str, Any]]) -> None:
        """Write notification summaries: dicts of id, status, final, cost_minor, updated_at."""
        if rows:
            await self._session.execute(_UPDATE_NOTE, [{"b_id": r["id"], **_without(r, "id")} for r in rows])

    async def legs_by_external(
        self, channel: str, external_ids: Iterable[str]
    ) -> dict[str, tuple[str, LegState]]:
        """Legs a platform's receipts refer to, keyed by the platform's message id."""
        wanted = set(external_ids)
        if not wanted:
            return {}
        stmt = select(*_LEG_COLUMNS).where(
            _LEGS.c.channel == channel, any_of(self._session, _LEGS.c.external_id, wanted)
        )
        return {
            r.external_id: (r.notification_id, leg_state(r))
            for r in (await self._session.execute(stmt)).all()
            if r.external_id
        }

    async def park_receipts(self, rows: list[dict[str, Any]]) -> None:
        """Keep receipts for messages whose send is not recorded yet."""
        if rows:
            await self._session.execute(insert(PendingReceipt.__table__), rows)  # type: ignore[arg-type]

    async def matchable_receipts(self, limit: int) -> list[PendingReceipt]:
        """Parked receipts whose message is now known (its send was recorded after they arrived)."""
        known = select(_LEGS.c.id).where(
            _LEGS.c.channel == PendingReceipt.channel, _LEGS.c.external_id == PendingReceipt.external_id
        )
        stmt = select(PendingReceipt).where(known.exists()).order_by(PendingReceipt.id).limit(limit)
        return list((await self._session.execute(stmt)).scalars())

    async def drop_receipts(self, ids: Iterable[int] = (), *, older_than: float | None = None) -> int:
        """Forget parked receipts: these ids, or every one that arrived before `older_than`."""
        wanted = list(ids)
        stmt = delete(PendingReceipt)
        if older_than is not None:
            stmt = stmt.where(PendingReceipt.at < older_than)
        elif wanted:
            stmt = stmt.where(any_of(self._session, PendingReceipt.id, wanted))
        else:
            return 0
        result = await self._session.execute(stmt)
        return int(result.rowcount)  # type: ignore[attr-defined]

    async def parked_count(self) -> int:
        """How many receipts wait for their message."""
        from sqlalchemy import func

        return int(
            (await self._session.execute(select(func.count()).select_from(PendingReceipt))).scalar_one()
        )

    async def parked_by_connection(self, connection_ids: Iterable[int]) -> dict[int, int]:
        """How many receipts each of these connections has parked (connections with none are absent)."""
        from sqlalchemy import func

        wanted = list(connection_ids)
        if not wanted:
            return {}
        stmt = (
            select(PendingReceipt.connection_id, func.count())
            .where(any_of(self._session, PendingReceipt.connection_id, wanted))
            .group_by(PendingReceipt.connection_id)
        )
        return {int(c): int(n) for c, n in (await self._session.execute(stmt)).all() if c is not None}

    async def take_receipts(self, keys: Iterable[tuple[str, str]]) -> list[PendingReceipt]:
        """Remove and return parked receipts for these (channel, external id) pairs."""
        wanted = set(keys)
        if not wanted:
            return []
        cond = tuple_(PendingReceipt.channel, PendingReceipt.external_id).in_(wanted)
        rows = list(
            (
                await self._session.execute(select(PendingReceipt).where(cond).order_by(PendingReceipt.id))
            ).scalars()
        )
        if rows:
            await self._session.execute(
                delete(PendingReceipt).where(any_of(self._session, PendingReceipt.id, [r.id for r in rows]))
            )
        return rows

    async def count_by_status(self, client_id: str | None = None) -> dict[str, int]:
        """Notification counts per status (for reports and the demo summary)."""
        from sqlalchemy import func

        stmt = select(Notification.status, func.count()).group_by(Notification.status)
        if client_id is not None:
            stmt = stmt.where(Notification.client_id == client_id)
        return {s: int(c) for s, c in (await self._session.execute(stmt)).all()}
