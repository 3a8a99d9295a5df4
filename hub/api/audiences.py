"""HTTP API for groups and segments (see `hub.contacts.audiences`); client keys change, agent keys read."""

from __future__ import annotations

from aiohttp import web

from hub.api.audience_schemas import GroupIn, MembersIn, SegmentIn
from hub.api.requests import HUB, client_of, principal, read_json
from hub.api.schemas import parse
from hub.contacts.audiences import (
    change_members,
    create_group,
    create_segment,
    delete_group,
    list_groups,
    list_segments,
    preview_segment,
)


async def post_group(request: web.Request) -> web.Response:
    """A new group: 201 {id, name}."""
    client = await client_of(request)
    hub = request.app[HUB]
    body = parse(GroupIn, await read_json(request))
    made = await create_group(hub.uow(), client.id, body.model_dump(), hub.clock.now())
    return web.json_response(made, status=201)


async def get_groups(request: web.Request) -> web.Response:
    """Every group of the client with its member count."""
    who = await principal(request)
    return web.json_response(await list_groups(request.app[HUB].uow(), who.client_id))


async def post_members(request: web.Request) -> web.Response:
    """Add contacts to a group by phone."""
    client = await client_of(request)
    body = parse(MembersIn, await read_json(request)).model_dump()
    uow = request.app[HUB].uow()
    return web.json_response(await change_members(uow, client.id, request.match_info["id"], body, add=True))


async def delete_members(request: web.Request) -> web.Response:
    """Take contacts out of a group by phone."""
    client = await client_of(request)
    body = parse(MembersIn, await read_json(request)).model_dump()
    uow = request.app[HUB].uow()
    return web.json_response(await change_members(uow, client.id, request.match_info["id"], body, add=False))


async def delete_one_group(request: web.Request) -> web.Response:
    """Delete a group (its contacts stay): 204."""
    client = await client_of(request)
    await delete_group(request.app[HUB].uow(), client.id, request.match_info["id"])
    return web.Response(status=204)


async def post_segment(request: web.Request) -> web.Response:
    """Save a segment: 201, or 422 naming the part of the filter at fault."""
    client = await client_of(request)
    hub = request.app[HUB]
    body = parse(SegmentIn, await read_json(request))
    made = await create_segment(hub.uow(), client.id, body.model_dump(), hub.clock.now())
    return web.json_response(made, status=201)


async def get_segments(request: web.Request) -> web.Response:
    """Every segment of the client."""
    who = await principal(request)
    return web.json_response(await list_segments(request.app[HUB].uow(), who.client_id))


async def get_preview(request: web.Request) -> web.Response:
    """How many contacts a segment holds now, with a sample."""
    who = await principal(request)
    hub = request.app[HUB]
    view = await preview_segment(hub.uow(), who.client_id, request.match_info["id"], hub.clock.now())
    return web.json_response(view)


def setup_audience_routes(app: web.Application) -> None:
    """Group and segment routes."""
    app.router.add_post("/v1/groups", post_group)
    app.router.add_get("/v1/groups", get_groups)
    app.router.add_post("/v1/groups/{id}/members", post_members)
    app.router.add_delete("/v1/groups/{id}/members", delete_members)
    app.router.add_delete("/v1/groups/{id}", delete_one_group)
    app.router.add_post("/v1/segments", post_segment)
    app.router.add_get("/v1/segments", get_segments)
    app.router.add_get("/v1/segments/{id}/preview", get_preview)
