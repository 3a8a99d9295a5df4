"""HTTP API for templates: submission, listing, and the operator's moderation decision."""

from __future__ import annotations

from aiohttp import web

from hub.api.guard import admin_actor
from hub.api.requests import HUB, client_of, read_json, require_admin
from hub.api.schemas import Decision, TemplateIn, parse
from hub.delivery.moderation import decide, submit, template_view
from hub.errors import RequestError
from hub.security import audit


async def post_template(request: web.Request) -> web.Response:
    """Submit a template for moderation."""
    client = await client_of(request)
    body = parse(TemplateIn, await read_json(request))
    hub = request.app[HUB]
    template = await submit(hub.uow(), client.id, body, hub.clock.now())
    return web.json_response(template_view(template), status=201)


async def get_template(request: web.Request) -> web.Response:
    """One of the client's templates."""
    client = await client_of(request)
    async with request.app[HUB].uow() as uow:
        template = await uow.templates.get(request.match_info["id"], client.id)
    if template is None:
        raise RequestError("template_not_found", f"no template {request.match_info['id']}", status=404)
    return web.json_response(template_view(template))


async def list_templates(request: web.Request) -> web.Response:
    """The client's templates, optionally by status."""
    client = await client_of(request)
    async with request.app[HUB].uow() as uow:
        found = await uow.templates.list(client.id, request.query.get("status"))
    return web.json_response({"templates": [template_view(t) for t in found]})


async def admin_templates(request: web.Request) -> web.Response:
    """Operator: templates by status (pending by default), across clients."""
    require_admin(request)
    async with request.app[HUB].uow() as uow:
        found = await uow.templates.list(None, request.query.get("status", "pending"))
    return web.json_response({"templates": [{**template_view(t), "client_id": t.client_id} for t in found]})


async def admin_decide(request: web.Request) -> web.Response:
    """Operator: approve or reject a template."""
    require_admin(request)
    decision = parse(Decision, await read_json(request))
    hub = request.app[HUB]
    actor = admin_actor(request)
    uow = audit.moderation(hub.uow(), actor, request.match_info["id"], decision, hub.clock.now())
    template = await decide(uow, request.match_info["id"], decision, hub.clock.now())
    return web.json_response(template_view(template))
