"""HTTP API of a client's own sandbox for integration developers (client keys; errors: `hub.sandbox.driver`).

    POST /v1/sandbox/inbound   {phone | vk_user_id | ok_user_id | telegram_chat_id, channel, text}
                               the customer writes to this client: 202 with the filed message
    GET  /v1/sandbox/messages  ?phone= (or another id) [&after=&limit=]: what the customer received
                               from this client, oldest first, with statuses as reported so far
    POST /v1/sandbox/follow    {url [, text] [, who follows]}: a deep link from
                               POST /v1/contacts/{phone}/links is followed, and the follower writes

All answer 404 `sandbox_disabled` when `sandbox.enabled` is false.
"""

from __future__ import annotations

from aiohttp import web

from bots.sandbox import SandboxNetwork
from hub.api.requests import HUB, client_of, read_json
from hub.api.schemas import SandboxFollowIn, SandboxInboundIn, parse
from hub.bootstrap import Hub
from hub.errors import RequestError
from hub.sandbox.driver import customer_of, follow, received, refuse_live, write

MAX_PAGE = 1000


def _network(hub: Hub) -> SandboxNetwork:
    if hub.network is None:
        raise RequestError(
            "sandbox_disabled", "the sandbox is disabled on this hub (sandbox.enabled)", status=404
        )
    return hub.network


async def post_inbound(request: web.Request) -> web.Response:
    """A sandbox customer writes to this client; filed, classified and acted on before the answer."""
    client = await client_of(request)
    hub = request.app[HUB]
    network = _network(hub)
    body = parse(SandboxInboundIn, await read_json(request))
    customer = customer_of(network, body.model_dump())
    await refuse_live(hub, client.id)
    return web.json_response(await write(hub, client.id, customer, body.channel, body.text), status=202)


async def get_messages(request: web.Request) -> web.Response:
    """What a sandbox customer received from this client, in order."""
    client = await client_of(request)
    hub = request.app[HUB]
    customer = customer_of(_network(hub), request.query)
    after, limit = _int(request, "after", 0, 0, 2**62), _int(request, "limit", 100, 1, MAX_PAGE)
    return web.json_response(await received(hub, client.id, customer, after, limit))


async def post_follow(request: web.Request) -> web.Response:
    """A customer follows one of this client's sandbox deep links and writes."""
    client = await client_of(request)
    hub = request.app[HUB]
    _network(hub)
    body = parse(SandboxFollowIn, await read_json(request))
    await refuse_live(hub, client.id)
    return web.json_response(await follow(hub, client.id, body.url, body.model_dump()), status=202)


def _int(request: web.Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query.get(name)
    try:
        value = int(raw) if raw is not None else default
    except ValueError as e:
        raise RequestError("invalid_field", f"{name}: an integer {low}..{high}") from e
    if not low <= value <= high:
        raise RequestError("invalid_field", f"{name}: an integer {low}..{high}")
    return value


def setup_sandbox_routes(app: web.Application) -> None:
    """The sandbox routes."""
    app.router.add_post("/v1/sandbox/inbound", post_inbound)
    app.router.add_get("/v1/sandbox/messages", get_messages)
    app.router.add_post("/v1/sandbox/follow", post_follow)
