"""Admin API for connections: `POST/GET /v1/admin/connections`, `DELETE /v1/admin/connections/{id}`.

Answers show connections through `connection_view` only, so secrets are always masked (the
callback URL, whose token the platform must be given, is shown whole). Every
change reloads this process's channel router at once; other processes pick it up on their
next periodic reload (see `hub.channels.readers`).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from hub.api.guard import admin_actor
from hub.api.request_input import bounded_int
from hub.api.requests import HUB, read_json, require_admin
from hub.channels.connections import add_connection, connection_view, list_connections, remove_connection
from hub.errors import RequestError
from hub.security import audit


async def _client_id(request: web.Request, body: dict[str, Any]) -> str:
    client_id, name = body.get("client_id"), body.get("client")
    if isinstance(client_id, str):
        return client_id
    if isinstance(name, str):
        async with request.app[HUB].uow() as uow:
            found = await uow.clients.by_name(name)
        if found is None:
            raise RequestError("client_not_found", f"no client named {name!r}", status=404)
        return found.id
    raise RequestError("missing_field", "client_id: give the client's id (or client: its name)")


async def admin_add_connection(request: web.Request) -> web.Response:
    """Operator: add a channel connection to a client."""
    require_admin(request)
    body = await read_json(request)
    channel, settings = body.get("channel"), body.get("settings", {})
    mode, name, ip_allowlist = body.get("mode"), body.get("name"), body.get("ip_allowlist")
    if not isinstance(channel, str):
        raise RequestError("missing_field", "channel: one of vk, ok, telegram, sms")
    if not isinstance(settings, dict):
        raise RequestError("invalid_field", "settings: an object")
    if mode not in (None, "callback", "longpoll") or not isinstance(name, str | None):
        raise RequestError("invalid_field", "mode: callback or longpoll; name: a string")
    hub = request.app[HUB]
    client_id = await _client_id(request, body)
    uow = audit.connection_added(hub.uow(), admin_actor(request), client_id, channel, hub.clock.now())
    created = await add_connection(
        uow, client_id, channel, settings, hub.clock.now(), mode=mode, name=name, ip_allowlist=ip_allowlist
    )
    await hub.channels.reload(hub.uow, hub.clock.now)
    return web.json_response(connection_view(created, hub.config.server.public_url), status=201)


async def admin_list_connections(request: web.Request) -> web.Response:
    """Operator: live connections, optionally of one client (`?client_id=`)."""
    require_admin(request)
    hub = request.app[HUB]
    found = await list_connections(hub.uow(), request.query.get("client_id"))
    public_url = hub.config.server.public_url
    return web.json_response({"connections": [connection_view(c, public_url) for c in found]})


async def admin_remove_connection(request: web.Request) -> web.Response:
    """Operator: remove a connection; its ingress answers 404 from now on."""
    require_admin(request)
    raw = request.match_info["id"]
    try:
        cid = bounded_int(raw, "id", low=1)
    except RequestError:
        raise RequestError("connection_not_found", f"no connection {raw}", status=404) from None
    hub = request.app[HUB]
    uow = audit.connection_removed(hub.uow(), admin_actor(request), cid, hub.clock.now())
    await remove_connection(uow, cid, hub.clock.now())
    await hub.channels.reload(hub.uow, hub.clock.now)
    return web.json_response({"id": cid, "removed": True})


def setup_connection_routes(app: web.Application) -> None:
    """Register the admin connection routes and the channel ingress."""
    from hub.conversations.ingress import setup_ingress

    app.router.add_post("/v1/admin/connections", admin_add_connection)
    app.router.add_get("/v1/admin/connections", admin_list_connections)
    app.router.add_delete("/v1/admin/connections/{id}", admin_remove_connection)
    setup_ingress(app)
