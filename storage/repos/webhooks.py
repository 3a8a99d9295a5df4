"""Client webhook endpoints and the delivery outbox (one row per event per endpoint)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

from sqlalchemy import Table, and_, bindparam, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlalchemy.orm.attributes import set_committed_value

from storage.db import any_of, is_postgres
from storage.models import WebhookDelivery, WebhookEndpoint
from storage.prebuilt import Prebuilt
from storage.secret_box import SecretKeyError, box_of

_DELIVERIES: Table = WebhookDelivery.__table__  # type: ignore[assignment]
#: An outcome changes the row only while it still carries the lease the attempt was made under.
_RESULT = update(_DELIVERIES).where(
    _DELIVERIES.c.id == bindparam("b_id"), _DELIVERIES.c.claimed_until == bindparam("b_claim")
)
_ENQUEUE = insert(_DELIVERIES)
_LIVE_ENDPOINTS = Prebuilt(
    lambda _, among: (
        select(WebhookEndpoint)
        .where(among(WebhookEndpoint.client_id, "clients"), WebhookEndpoint.deleted_at.is_(None))
        .order_by(WebhookEndpoint.created_at, WebhookEndpoint.id)
    )
)
_PENDING_KEYS = Prebuilt(
    lambda _, among: select(_DELIVERIES.c.endpoint_id, _DELIVERIES.c.order_key).where(
        _DELIVERIES.c.status == "pending",
        among(_DELIVERIES.c.endpoint_id, "endpoints"),
        among(_DELIVERIES.c.order_key, "keys"),
    )
)


class DeliveryHandoff(Protocol):
    """A webhook sender in this process that takes new deliveries straight from the committing code."""

    def accepts(self, endpoint_id: str) -> bool:
        """True while the sender runs and has room for another attempt to this endpoint."""
        ...

    def lease_until(self, now: float) -> float:
        """Until when a handed delivery is claimed (other senders leave it alone)."""
        ...

    def hand(self, deliveries: list[WebhookDelivery], endpoints: dict[str, WebhookEndpoint]) -> None:
        """Attempt these committed, already claimed deliveries now."""
        ...

    def wait_behind(self, keys: set[tuple[str, str]]) -> None:
        """Deliveries of these (endpoint, order key) pairs were committed for the claim loop."""
        ...


class WebhookRepo:
    """Endpoints per client; deliveries leased in order per (endpoint, thread).

    Signing secrets (and a rotation's previous secret) are sealed in the table and opened on the
    loaded endpoints (without marking them changed); change an endpoint with `update_endpoint`,
    which seals new secrets.
    """

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add_endpoint(self, endpoint: WebhookEndpoint) -> None:
        """Register an endpoint; its secret is stored sealed and stays readable on the object."""
        secret = endpoint.secret
        endpoint.secret = box_of(self._session.info).seal(secret)
        self._session.add(endpoint)
        await self._session.flush()
        set_committed_value(endpoint, "secret", secret)

    async def endpoint(self, endpoint_id: str, client_id: str) -> WebhookEndpoint | None:
        """A live endpoint, only when it belongs to the client."""
        found = await self._session.get(WebhookEndpoint, endpoint_id)
        if found is None or found.client_id != client_id or found.deleted_at is not None:
            return None
        return self._opened(found)

    def _opened(self, endpoint: WebhookEndpoint) -> WebhookEndpoint:
        box = box_of(self._session.info)
        set_committed_value(endpoint, "secret", box.open(endpoint.secret))
        if endpoint.previous_secret:
            set_committed_value(endpoint, "previous_secret", box.open(endpoint.previous_secret))
        return endpoint

    async def update_endpoint(self, endpoint: WebhookEndpoint, **values: Any) -> None:
        """Change an endpoint's columns (a new `secret` is sealed); the object shows the new values."""
        if not values:
            return
        stored = dict(values)
        for column in ("secret", "previous_secret"):
            if stored.get(column):
                stored[column] = box_of(self._session.info).seal(stored[column])
        await self._session.execute(
            update(WebhookEndpoint).where(WebhookEndpoint.id == endpoint.id).values(**stored)
        )
        for key, value in values.items():
            set_committed_value(endpoint, key, value)

    async def reseal_secrets(self, dry_run: bool = False) -> tuple[int, int]:
        """Seal every endpoint's secrets (the previous one too) with the first key.

        Returns (rows changed, rows already current).
        """
        box = box_of(self._session.info)
        changed = current = 0
        columns = (WebhookEndpoint.id, WebhookEndpoint.secret, WebhookEndpoint.previous_secret)
        for endpoint_id, *stored in (await self._session.execute(select(*columns))).all():
            try:
                sealed = [box.reseal(value) if value else value for value in stored]
            except SecretKeyError as e:
                raise SecretKeyError(f"webhook {endpoint_id}: {e}") from None
            if sealed == stored:
                current += 1
                continue
            changed += 1
            if not dry_run:
                stmt = update(WebhookEndpoint).where(WebhookEndpoint.id == endpoint_id)
                await self._session.execute(stmt.values(secret=sealed[0], previous_secret=sealed[1]))
        return changed, current

    async def endpoints(self, client_ids: Iterable[str]) -> list[WebhookEndpoint]:
        """Live endpoints of these clients, oldest first."""
        wanted = set(client_ids)
        if not wanted:
            return []
        stmt, params = _LIVE_ENDPOINTS.on(self._session), {"clients": list(wanted)}
        return [self._opened(e) for e in await self._session.scalars(stmt, params)]

    async def enqueue(self, rows: list[dict[str, Any]]) -> None:
        """Add deliveries; their `seq` (insertion order) is the order they go out per thread."""
        if rows:
            await self._session.execute(_ENQUEUE, rows)

    async def pending_keys(self, keys: set[tuple[str, str]]) -> set[tuple[str, str]]:
        """Which (endpoint, order key) pairs already have a pending delivery (the next must wait)."""
        if not keys:
            return set()
        stmt = _PENDING_KEYS.on(self._session)
        params = {"endpoints": list({e for e, _ in keys}), "keys": list({k for _, k in keys})}
        return {(e, k) for e, k in (await self._session.execute(stmt, params)).all()} & keys

    async def claim_due(
        self,
        limit: int,
        now: float,
        lease_until: float,
        skip: set[str] | None = None,
        held: set[str] | None = None,
    ) -> list[WebhookDelivery]:
        """Lease due deliveries that have no earlier pending delivery on the same thread and endpoint.

        Endpoints in `skip` (already at their in-flight cap) are left for a later claim, and so are
        the deliveries in `held` (the claiming sender still attempts them, whatever their lease says).
        """
        earlier = aliased(WebhookDelivery)
        blocked = (
            select(earlier.seq)
            .where(
                earlier.endpoint_id == WebhookDelivery.endpoint_id,
                earlier.order_key == WebhookDelivery.order_key,
                earlier.status == "pending",
                earlier.seq < WebhookDelivery.seq,
            )
            .exists()
        )
        pick = (
            select(WebhookDelivery.seq)
            .where(
                WebhookDelivery.status == "pending",
                WebhookDelivery.next_attempt_at <= now,
                or_(WebhookDelivery.claimed_until.is_(None), WebhookDelivery.claimed_until < now),
                ~blocked,
            )
            .order_by(WebhookDelivery.seq)
            .limit(limit)
        )
        if skip:
            pick = pick.where(WebhookDelivery.endpoint_id.not_in(skip))
        if held:
            pick = pick.where(WebhookDelivery.id.not_in(held))
        if is_postgres(self._session):
            pick = pick.with_for_update(skip_locked=True)
        seqs = list((await self._session.execute(pick)).scalars())
        if not seqs:
            return []
        await self._session.execute(
            update(WebhookDelivery)
            .where(any_of(self._session, WebhookDelivery.seq, seqs))
            .values(claimed_until=lease_until)
        )
        stmt = (
            select(WebhookDelivery)
            .where(any_of(self._session, WebhookDelivery.seq, seqs))
            .order_by(WebhookDelivery.seq)
        )
        return list((await self._session.execute(stmt)).scalars())

    async def endpoints_by_id(self, ids: Iterable[str]) -> dict[str, WebhookEndpoint]:
        """Endpoints (deleted ones too) by id."""
        stmt = select(WebhookEndpoint).where(any_of(self._session, WebhookEndpoint.id, set(ids)))
        return {e.id: self._opened(e) for e in (await self._session.execute(stmt)).scalars()}

    async def record(self, results: list[dict[str, Any]]) -> None:
        """Store attempt outcomes: dicts with b_id, b_claim (the lease the attempt was made under) and the
        changed columns. An outcome whose lease was taken over since (it ran out, another claim took the
        row, or it was replayed) changes nothing: the row is the newer claim's."""
        if results:
            await self._session.execute(_RESULT, results)

    async def log(
        self, client_id: str, *, status: str | None, endpoint_id: str | None, limit: int, before: int | None
    ) -> list[WebhookDelivery]:
        """A client's deliveries, newest first."""
        stmt = select(WebhookDelivery).where(WebhookDelivery.client_id == client_id)
        if status:
            stmt = stmt.where(WebhookDelivery.status == status)
        if endpoint_id:
            stmt = stmt.where(WebhookDelivery.endpoint_id == endpoint_id)
        if before is not None:
            stmt = stmt.where(WebhookDelivery.seq < before)
        stmt = stmt.order_by(WebhookDelivery.seq.desc()).limit(limit)
        return list((await self._session.execute(stmt)).scalars())

    async def replay(
        self, client_id: str, now: float, *, ids: list[str] | None, since: float | None, until: float | None
    ) -> int:
        """Make dead (or, by id, any) deliveries pending again; returns how many."""
        cond = [WebhookDelivery.client_id == client_id]
        if ids:
            cond.append(any_of(self._session, WebhookDelivery.id, ids))
        else:
            cond.append(WebhookDelivery.status == "dead")
            if since is not None:
                cond.append(WebhookDelivery.created_at >= since)
            if until is not None:
                cond.append(WebhookDelivery.created_at <= until)
        stmt = (
            update(WebhookDelivery)
            .where(and_(*cond))
            .values(status="pending", attempts=0, next_attempt_at=now, claimed_until=None, created_at=now)
        )
        result = await self._session.execute(stmt)
        return int(result.rowcount)  # type: ignore[attr-defined]

    async def log_all_pending(self) -> list[WebhookDelivery]:
        """Every pending delivery of every client (tests and operators)."""
        stmt = (
            select(WebhookDelivery).where(WebhookDelivery.status == "pending").order_by(WebhookDelivery.seq)
        )
        return list((await self._session.execute(stmt)).scalars())

    async def pending_count(self) -> int:
        """Deliveries still to go out (benchmarks and tests wait on this)."""
        stmt = select(func.count()).select_from(WebhookDelivery).where(WebhookDelivery.status == "pending")
        return int((await self._session.execute(stmt)).scalar_one())
