"""Clients and their API keys: created by the operator, resolved on every request."""

from __future__ import annotations

from dataclasses import dataclass

from hub.errors import RequestError
from hub.ids import hash_key, new_id
from hub.security import audit
from hub.security.keys import find_client, new_key
from storage.models import Client
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
        client = Client(id=new_id("cli"), name=name, created_at=now)
        row, key = new_key(client.id, now)
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
        found = await find_client(uow, client)
        row, key = new_key(found.id, now, "agent", name)
        await uow.clients.add_key(row)
        if actor is not None:
            details = {"role": "agent", "name": name}
            audit.record(uow, actor, "key.created", now, client_id=found.id, target=row.id, details=details)
        await uow.commit()
    return NewAgent(found.id, name, key)
