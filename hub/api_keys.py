"""HTTP API for access: key listing, rotation and revocation, client access settings, the audit log.

Clients manage their own keys with a client key (`/v1/keys...`); the operator manages any
client's keys and its allow-list and rate limit with the admin token (`/v1/admin/...`).
`GET /v1/audit` shows a client key its own client's entries and the admin token everyone's.
"""

from __future__ import annotations

import hmac
from datetime import datetime
from typing import Any

from aiohttp import web

from hub.api import HUB, _admin, _json
from hub.audit import list_entries
from hub.errors import RequestError
from hub.guard import CALLER, Caller, admin_actor, bearer, key_actor
from hub.keys import (
    RotatedKey,
    access_view,
    find_client,
    issue_key,
    list_keys,
    revoke_key,
    rotate_key,
    set_access,
)
from hub.schemas import AccessIn, KeyIn, RotateIn, parse
from storage.repos.audit import AuditFilter


def _caller(request: web.Request, *, client_only: bool = True) -> Caller:
    """The client key behind the request (the guard resolved it), or 401/403."""
    caller: Caller | None = request.get(CALLER)
    if caller is None:
        raise RequestError(
            "unauthorized", "send a valid API key as 'Authorization: Bearer <key>'", status=401
        )
    if client_only and caller.key.role != "client":
        raise RequestError("forbidden", "this needs the client's API key, not an agent key", status=403)
    return caller


async def _optional_json(request: web.Request) -> dict[str, Any]:
    return await _json(request) if await request.read() else {}


def _overlap(request: web.Request, body: RotateIn) -> float:
    hours = body.overlap_hours
    return (request.app[HUB].config.security.key_overlap_hours if hours is None else hours) * 3600


def _rotated(made: RotatedKey) -> web.Response:
    return web.json_response({"api_key": made.api_key, "key": made.view, "old_key": made.old}, status=201)


async def get_keys(request: web.Request) -> web.Response:
    """The client's keys: prefix, name, role, created, expires; never a secret."""
    caller = _caller(request)
    hub = request.app[HUB]
    return web.json_response({"keys": await list_keys(hub.uow(), caller.client.id, hub.clock.now())})


async def post_rotate(request: web.Request) -> web.Response:
    """Replace the calling key: the new key is shown once; the old one works until it expires."""
    caller = _caller(request)
    body = parse(RotateIn, await _optional_json(request))
    hub = request.app[HUB]
    actor = key_actor(request, caller)
    made = await rotate_key(
        hub.uow(), caller.key.id, _overlap(request, body), actor, hub.clock.now(), caller.client.id
    )
    return _rotated(made)


async def delete_key(request: web.Request) -> web.Response:
    """Revoke one of the client's keys at once."""
    caller = _caller(request)
    hub = request.app[HUB]
    key_id = request.match_info["id"]
    view = await revoke_key(hub.uow(), key_id, key_actor(request, caller), hub.clock.now(), caller.client.id)
    return web.json_response(view)


async def admin_get_client(request: web.Request) -> web.Response:
    """Operator: a client's access settings."""
    _admin(request)
    async with request.app[HUB].uow() as uow:
        client = await find_client(uow, request.match_info["id"])
    return web.json_response(access_view(client))


async def admin_patch_client(request: web.Request) -> web.Response:
    """Operator: set a client's IP allow-list and/or rate limit."""
    _admin(request)
    body = parse(AccessIn, await _json(request))
    changes: dict[str, Any] = {}
    if "ip_allowlist" in body.model_fields_set:
        changes["ip_allowlist"] = body.ip_allowlist or []
    if "rate_limit" in body.model_fields_set:
        changes["rate_limit"] = body.rate_limit.model_dump() if body.rate_limit else None
    hub = request.app[HUB]
    view = await set_access(
        hub.uow(), request.match_info["id"], changes, admin_actor(request), hub.clock.now()
    )
    return web.json_response(view)


async def admin_client_keys(request: web.Request) -> web.Response:
    """Operator: every key of a client."""
    _admin(request)
    hub = request.app[HUB]
    return web.json_response({"keys": await list_keys(hub.uow(), request.match_info["id"], hub.clock.now())})


async def admin_issue_key(request: web.Request) -> web.Response:
    """Operator: another client key (shown once), e.g. after the last one was revoked."""
    _admin(request)
    body = parse(KeyIn, await _optional_json(request))
    hub = request.app[HUB]
    client_ref, actor = request.match_info["id"], admin_actor(request)
    view, secret = await issue_key(hub.uow(), client_ref, body.name, actor, hub.clock.now())
    return web.json_response({"api_key": secret, "key": view}, status=201)


async def admin_rotate(request: web.Request) -> web.Response:
    """Operator: rotate any key (client or agent) with an overlap."""
    _admin(request)
    body = parse(RotateIn, await _optional_json(request))
    hub = request.app[HUB]
    key_id = request.match_info["id"]
    return _rotated(
        await rotate_key(hub.uow(), key_id, _overlap(request, body), admin_actor(request), hub.clock.now())
    )


async def admin_revoke(request: web.Request) -> web.Response:
    """Operator: revoke any key at once."""
    _admin(request)
    hub = request.app[HUB]
    return web.json_response(
        await revoke_key(hub.uow(), request.match_info["id"], admin_actor(request), hub.clock.now())
    )


def _audit_filter(request: web.Request, client_id: str | None) -> AuditFilter:
    q = request.query
    try:
        since = (
            datetime.fromisoformat(q["since"].replace("Z", "+00:00")).timestamp() if q.get("since") else None
        )
        before = int(q["cursor"]) if q.get("cursor") else None
        limit = int(q.get("limit") or 50)
    except ValueError as e:
        raise RequestError("invalid_field", "since: an ISO 8601 time; cursor, limit: integers") from e
    if not 1 <= limit <= 200:
        raise RequestError("invalid_field", "limit: an integer 1..200")
    return AuditFilter(
        client_id=client_id, action=q.get("action") or None, since=since, before=before, limit=limit
    )


async def get_audit(request: web.Request) -> web.Response:
    """The audit log, newest first: a client key sees its own client's entries, the admin token all."""
    token, admin_token = bearer(request) or "", request.app[HUB].config.admin_token
    if (
        admin_token
        and request.get(CALLER) is None
        and hmac.compare_digest(token.encode(), admin_token.get_secret_value().encode())
    ):
        f = _audit_filter(request, request.query.get("client_id") or None)
    else:
        f = _audit_filter(request, _caller(request).client.id)
    return web.json_response(await list_entries(request.app[HUB].uow(), f))


def setup_key_routes(app: web.Application) -> None:
    """Key, access and audit routes."""
    app.router.add_get("/v1/keys", get_keys)
    app.router.add_post("/v1/keys/rotate", post_rotate)
    app.router.add_delete("/v1/keys/{id}", delete_key)
    app.router.add_get("/v1/audit", get_audit)
    app.router.add_get("/v1/admin/clients/{id}", admin_get_client)
    app.router.add_patch("/v1/admin/clients/{id}", admin_patch_client)
    app.router.add_get("/v1/admin/clients/{id}/keys", admin_client_keys)
    app.router.add_post("/v1/admin/clients/{id}/keys", admin_issue_key)
    app.router.add_post("/v1/admin/keys/{id}/rotate", admin_rotate)
    app.router.add_delete("/v1/admin/keys/{id}", admin_revoke)
