"""Clients and their hashed API keys."""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ApiKey, Client


class ClientRepo:
    """Tenants: created by the operator, looked up by API key on every request."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, client: Client, key: ApiKey) -> None:
        """Store a new client with its first key."""
        self._session.add(client)
        await self._session.flush()
        self._session.add(key)
        await self._session.flush()

    async def add_key(self, key: ApiKey) -> None:
        """Store another key for an existing client."""
        self._session.add(key)
        await self._session.flush()

    async def by_name(self, name: str) -> Client | None:
        """The client called `name`, if any."""
        return (await self._session.execute(select(Client).where(Client.name == name))).scalar_one_or_none()

    async def get(self, client_id: str) -> Client | None:
        """The client with this id, if any."""
        return await self._session.get(Client, client_id)

    async def set_default_timezone(self, client_id: str, zone: str) -> None:
        """The zone of the client's contacts whose number names several zones and who gave none."""
        stmt = update(Client).where(Client.id == client_id).values(default_timezone=zone)
        await self._session.execute(stmt)

    async def by_key_hash(self, key_hash: str, now: float | None = None) -> tuple[Client, str] | None:
        """The client and role owning a live key with this hash (see `principal` for `now`)."""
        stmt = (
            select(Client, ApiKey.role)
            .join(ApiKey, ApiKey.client_id == Client.id)
            .where(ApiKey.key_hash == key_hash, *_live(now))
        )
        row = (await self._session.execute(stmt)).first()
        return (row[0], row[1]) if row else None

    async def principal(self, key_hash: str, now: float | None = None) -> tuple[Client, ApiKey] | None:
        """The client and the live key with this hash (role and agent name included).

        A rotated-away key lives until its `expires_at`; without `now` such keys are refused.
        """
        return await self._principal(ApiKey.key_hash == key_hash, now)

    async def principal_by_key_id(self, key_id: str, now: float) -> tuple[Client, ApiKey] | None:
        """Like `principal`, by the key's id (a signed-in inbox session remembers which key it was)."""
        return await self._principal(ApiKey.id == key_id, now)

    async def _principal(self, which: Any, now: float | None) -> tuple[Client, ApiKey] | None:
        stmt = select(Client, ApiKey).join(ApiKey, ApiKey.client_id == Client.id).where(which, *_live(now))
        row = (await self._session.execute(stmt)).first()
        return (row[0], row[1]) if row else None

    async def key(self, key_id: str) -> ApiKey | None:
        """The key with this id (live or not), if any."""
        return await self._session.get(ApiKey, key_id)

    async def keys(self, client_id: str) -> list[ApiKey]:
        """Every key of a client, revoked ones included, oldest first."""
        stmt = select(ApiKey).where(ApiKey.client_id == client_id).order_by(ApiKey.created_at, ApiKey.id)
        return list((await self._session.execute(stmt)).scalars())

    async def list(self) -> list[Client]:
        """Every client, oldest first."""
        return list((await self._session.execute(select(Client).order_by(Client.created_at))).scalars())


def _live(now: float | None) -> tuple[Any, ...]:
    """Conditions of a usable key: not revoked, and not past its expiry (any expiry when `now` is None)."""
    if now is None:
        return (ApiKey.revoked_at.is_(None), ApiKey.expires_at.is_(None))
    return (ApiKey.revoked_at.is_(None), or_(ApiKey.expires_at.is_(None), ApiKey.expires_at > now))
