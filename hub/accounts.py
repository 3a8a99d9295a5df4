"""Clients and their API keys: created by the operator, resolved on every request."""

from __future__ import annotations

from dataclasses import dataclass

from hub import audit
from hub.errors import RequestError
from hub.ids import hash_key, new_api_key, new_id
from storage.models import ApiKey, Client
from storage.uow import UnitOfWork


@dataclass(frozen=True)
class NewClient:
    """A created client and its API key (the only time the key is visible)."""

    id: str
    name: str
    api_key: str


async def create_client(
    uow: UnitOfWork, name: str, now: float, actor: audit.Actor | None = None
) -> NewClient:
    """Register a business and issue its first API key (audited when an `actor` is given)."""
    name = name.strip()
    if not name or len(name) > 200:
        raise RequestError("invalid_field", "name: give 1 to 200 characters")
    async with uow:
        if await uow.clients.by_name(name) is not None:
            raise RequestError("client_exists", f"a client named {name!r} already exists", status=409)
        key = new_api_key()
        client = Client(id=new_id("cli"), name=name, created_at=now)
        row = ApiKey(
            id=new_id("key"), client_id=client.id, key_hash=hash_key(key), prefix=key[:10], created_at=now
        )
        await uow.clients.add(client, row)
        if actor is not None:
            details = {"name": name, "key_id": row.id}
            audit.record(
                uow, actor, "client.created", now, client_id=client.id, target=client.id, details=details
            )
        await uow.commit()
    return NewClient(client.id, name, key)


async def authenticate(uow: UnitOfWork, key: str, now: float | None = None) -> tuple[Client, str] | None:
    """The client (and key role) behind a bearer key, or None (rotated-away keys only with `now`)."""
    async with uow:
        return await uow.clients.by_key_hash(hash_key(key), now)


@dataclass(frozen=True)
class NewAgent:
    """An agent's key, scoped to one client (shown once)."""

    client_id: str
    name: str
    api_key: str


async def create_agent(
    uow: UnitOfWork, client: str, name: str, now: float, actor: audit.Actor | None = None
) -> NewAgent:
    """Issue an agent key for the client given by id or name (audited when an `actor` is given)."""
    name = name.strip()
    if not name or len(name) > 200:
        raise RequestError("invalid_field", "name: give 1 to 200 characters")
    async with uow:
        found = await uow.clients.get(client) or await uow.clients.by_name(client)
        if found is None:
            raise RequestError("client_not_found", f"no client {client!r}", status=404)
        key = new_api_key()
        row = ApiKey(
            id=new_id("key"),
            client_id=found.id,
            key_hash=hash_key(key),
            role="agent",
            name=name,
            prefix=key[:10],
            created_at=now,
        )
        await uow.clients.add_key(row)
        if actor is not None:
            details = {"role": "agent", "name": name}
            audit.record(uow, actor, "key.created", now, client_id=found.id, target=row.id, details=details)
        await uow.commit()
    return NewAgent(found.id, name, key)
