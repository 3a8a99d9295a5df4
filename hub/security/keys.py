"""API key rotation with overlap, revocation, and a client's access settings (allow-list, rate limit).

A rotation issues a new key (shown once, stored hashed) and leaves the old one working until
`now + overlap`, so deployments can switch without downtime; after that the old key answers 401.
A rotated-away key does ordinary work during its overlap but manages nothing: it cannot rotate
again (which would mint keys that outlive it) nor revoke its successor (see `require_current`).
Revocation ends a key at once. Every change is audited in its own transaction.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from hub.clock import iso
from hub.errors import RequestError
from hub.ids import hash_key, new_api_key, new_id
from hub.security import audit
from hub.security.allowlist import parse_cidrs
from hub.security.audit import Actor
from storage.models import ApiKey, Client
from storage.uow import UnitOfWork

log = logging.getLogger("notifyhub.keys")
PREFIX_CHARS = 10
#: The longest overlap a rotation may give the old key (30 days).
MAX_OVERLAP_HOURS = 720


def key_prefix(key: str) -> str:
    """The first characters of a key: enough to tell keys apart, far too few to use one."""
    return key[:PREFIX_CHARS]


def new_key(client_id: str, now: float, role: str = "client", name: str | None = None) -> tuple[ApiKey, str]:
    """A fresh key's row (stored hashed, with its prefix) and its secret, which is shown only once."""
    secret = new_api_key()
    row = ApiKey(
        id=new_id("key"),
        client_id=client_id,
        key_hash=hash_key(secret),
        role=role,
        name=name,
        prefix=key_prefix(secret),
        created_at=now,
    )
    return row, secret


def key_view(key: ApiKey, now: float) -> dict[str, Any]:
    """A key as listings show it: never the secret or its hash."""
    live = key.revoked_at is None and (key.expires_at is None or key.expires_at > now)
    return {
        "id": key.id,
        "role": key.role,
        "name": key.name,
        "prefix": key.prefix,
        "created_at": iso(key.created_at),
        "expires_at": iso(key.expires_at),
        "revoked_at": iso(key.revoked_at),
        "active": live,
    }


def rotated_away(key: ApiKey) -> bool:
    """True for a key that was rotated: it has an expiry (its overlap) and a successor."""
    return key.expires_at is not None


def require_current(key: ApiKey) -> None:
    """Refuse key management (rotate, revoke, new keys, access settings) to a rotated-away key: 403."""
    if rotated_away(key):
        raise RequestError(
            "key_rotated_away",
            f"key {key.id} was rotated away: it serves ordinary requests until it expires "
            f"({iso(key.expires_at)}), but managing keys needs the current key",
            status=403,
        )


@dataclass(frozen=True)
class RotatedKey:
    """The new key (its secret shown only here) and the old key's view with its expiry."""

    view: dict[str, Any]
    api_key: str
    old: dict[str, Any]


async def _live_key(uow: UnitOfWork, key_id: str, client_id: str | None, now: float) -> ApiKey:
    key = await uow.clients.key(key_id)
    if key is None or (client_id is not None and key.client_id != client_id):
        raise RequestError("key_not_found", f"no key {key_id}", status=404)
    if not key_view(key, now)["active"]:
        raise RequestError("key_inactive", f"key {key_id} is revoked or expired", status=409)
    return key


async def rotate_key(
    uow: UnitOfWork,
    key_id: str,
    overlap_seconds: float,
    actor: Actor,
    now: float,
    client_id: str | None = None,
) -> RotatedKey:
    """Issue a key like `key_id` (same client, role, name); the old one lives `overlap_seconds` more."""
    async with uow:
        old = await _live_key(uow, key_id, client_id, now)
        if rotated_away(old):  # rotating it again would give its holder a key that never expires
            raise RequestError(
                "key_already_rotated",
                f"key {key_id} was already rotated: rotate its successor, or revoke it",
                status=409,
            )
        new, secret = new_key(old.client_id, now, old.role, old.name)
        await uow.clients.add_key(new)
        old.expires_at = min(old.expires_at or now + overlap_seconds, now + overlap_seconds)
        details = {"new_key_id": new.id, "role": old.role, "old_expires_at": iso(old.expires_at)}
        audit.record(uow, actor, "key.rotated", now, client_id=old.client_id, target=old.id, details=details)
        await uow.commit()
    log.info("key rotated old=%s new=%s client=%s", old.id, new.id, old.client_id)
    return RotatedKey(key_view(new, now), secret, key_view(old, now))


async def issue_key(
    uow: UnitOfWork, client_ref: str, name: str | None, actor: Actor, now: float
) -> tuple[dict[str, Any], str]:
    """Operator: another client key (e.g. after the last one was revoked); the secret is returned once."""
    async with uow:
        client = await find_client(uow, client_ref)
        row, secret = new_key(client.id, now, "client", name)
        await uow.clients.add_key(row)
        details = {"role": "client", "name": name}
        audit.record(uow, actor, "key.created", now, client_id=client.id, target=row.id, details=details)
        await uow.commit()
    log.info("key issued id=%s client=%s", row.id, client.id)
    return key_view(row, now), secret


async def revoke_key(
    uow: UnitOfWork, key_id: str, actor: Actor, now: float, client_id: str | None = None
) -> dict[str, Any]:
    """End a key at once (its next request gets 401)."""
    async with uow:
        key = await _live_key(uow, key_id, client_id, now)
        key.revoked_at = now
        audit.record(
            uow, actor, "key.revoked", now, client_id=key.client_id, target=key.id, details={"role": key.role}
        )
        await uow.commit()
    log.info("key revoked id=%s client=%s", key.id, key.client_id)
    return key_view(key, now)


async def find_client(uow: UnitOfWork, ref: str) -> Client:
    """The client with this id or name (call inside `async with uow`), or 404."""
    found = await uow.clients.get(ref) or await uow.clients.by_name(ref)
    if found is None:
        raise RequestError("client_not_found", f"no client {ref!r}", status=404)
    return found


async def list_keys(uow: UnitOfWork, client_ref: str, now: float) -> list[dict[str, Any]]:
    """Every key of a client (by id or name), revoked and expired ones included."""
    async with uow:
        client = await find_client(uow, client_ref)
        return [key_view(k, now) for k in await uow.clients.keys(client.id)]


def access_view(client: Client) -> dict[str, Any]:
    """A client's access settings: allow-list and own rate limit (None: the configured default)."""
    own = client.rate_limit_per_second is not None or client.rate_limit_burst is not None
    limit = {"per_second": client.rate_limit_per_second, "burst": client.rate_limit_burst}
    return {
        "id": client.id,
        "name": client.name,
        "ip_allowlist": list(client.ip_allowlist or []),
        "rate_limit": limit if own else None,
    }


async def get_access(uow: UnitOfWork, client_ref: str) -> dict[str, Any]:
    """A client's access settings, by id or name."""
    async with uow:
        return access_view(await find_client(uow, client_ref))


async def set_access(
    uow: UnitOfWork, client_ref: str, changes: dict[str, Any], actor: Actor, now: float
) -> dict[str, Any]:
    """Change a client's allow-list (`ip_allowlist`) and/or rate limit (`rate_limit`: dict or None)."""
    async with uow:
        client = await find_client(uow, client_ref)
        if "ip_allowlist" in changes:
            client.ip_allowlist = parse_cidrs(changes["ip_allowlist"]) or None
            details = {"ip_allowlist": client.ip_allowlist or []}
            audit.record(
                uow,
                actor,
                "client.allowlist_set",
                now,
                client_id=client.id,
                target=client.id,
                details=details,
            )
        if "rate_limit" in changes:
            limit = changes["rate_limit"] or {}
            client.rate_limit_per_second, client.rate_limit_burst = (
                limit.get("per_second"),
                limit.get("burst"),
            )
            audit.record(
                uow, actor, "client.rate_limit_set", now, client_id=client.id, target=client.id, details=limit
            )
        await uow.commit()
    if changes:
        log.info("access settings of client %s changed: %s", client.id, ", ".join(sorted(changes)))
    return access_view(client)
