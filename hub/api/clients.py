"""HTTP API for the operator's client registry: `POST /v1/admin/clients`."""

from __future__ import annotations

from aiohttp import web

from hub.api.guard import admin_actor
from hub.api.requests import HUB, read_json, require_admin
from hub.errors import RequestError
from hub.security.accounts import create_client


async def admin_create_client(request: web.Request) -> web.Response:
    """Operator: register a client; the API key is in this answer only."""
    require_admin(request)
    body = await read_json(request)
    name = body.get("name")
    if not isinstance(name, str):
        raise RequestError("invalid_field", "name: give the client's name as a string")
    hub = request.app[HUB]
    created = await create_client(hub.uow(), name, hub.clock.now(), admin_actor(request))
    return web.json_response({"id": created.id, "name": created.name, "api_key": created.api_key}, status=201)
