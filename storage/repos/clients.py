"""Clients and their hashed API keys."""

from __future__ import annotations

from sqlalchemy import select
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

    async def by_key_hash(self, key_hash: str) -> tuple[Client, str] | None:
        """The client and role owning a live key with this hash."""
        stmt = (
            select(Client, ApiKey.role)
            .join(ApiKey, ApiKey.client_id == Client.id)
            .where(ApiKey.key_hash == key_hash, ApiKey.revoked_at.is_(None))
        )
        row = (await self._session.execute(stmt)).first()
        return (row[0], row[1]) if row else None

    async def principal(self, key_hash: str) -> tuple[Client, ApiKey] | None:
        """The client and the live key with this hash (role and agent name included)."""
        stmt = (
            select(Client, ApiKey)
            .join(ApiKey, ApiKey.client_id == Client.id)
            .where(ApiKey.key_hash == key_hash, ApiKey.revoked_at.is_(None))
        )
        row = (await self._session.execute(stmt)).first()
        return (row[0], row[1]) if row else None

    async def list(self) -> list[Client]:
        """Every client, oldest first."""
        return list((await self._session.execute(select(Client).order_by(Client.created_at))).scalars())
