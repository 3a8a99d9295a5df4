"""HTTP API for campaigns: create, list, read (counts per variant), pause, resume, cancel."""

from __future__ import annotations

from aiohttp import web

from hub.api.requests import HUB, client_of, read_json
from hub.api.schemas import parse
from hub.campaigns.launch import MOVES, create_campaign, steer
from hub.campaigns.report import campaign_view
from hub.campaigns.spec import CampaignIn
from hub.errors import RequestError


async def post_campaign(request: web.Request) -> web.Response:
    """Create a campaign; one due now freezes its audience before this answers."""
    client = await client_of(request)
    body = parse(CampaignIn, await read_json(request))
    hub = request.app[HUB]
    campaign = await create_campaign(hub.uow(), client, body, hub.clock.now())
    return web.json_response(await _view(request, client.id, campaign.id), status=201)


async def get_campaigns(request: web.Request) -> web.Response:
    """The client's campaigns, newest first."""
    client = await client_of(request)
    async with request.app[HUB].uow() as uow:
        found = await uow.campaigns.of_client(client.id)
    return web.json_response(
        {
            "campaigns": [
                {"id": c.id, "name": c.name, "status": c.status, "audience_size": c.audience_size}
                for c in found
            ]
        }
    )


async def get_campaign(request: web.Request) -> web.Response:
    """One campaign with its counts, cost and per-variant results."""
    client = await client_of(request)
    return web.json_response(await _view(request, client.id, request.match_info["id"]))


async def post_action(request: web.Request) -> web.Response:
    """`POST /v1/campaigns/{id}/pause|resume|cancel`."""
    client = await client_of(request)
    action = request.match_info["action"]
    if action not in MOVES:
        raise RequestError("not_found", f"no action {action!r}: use pause, resume or cancel", status=404)
    hub = request.app[HUB]
    campaign = await steer(hub.uow(), client.id, request.match_info["id"], action, hub.clock.now())
    return web.json_response(await _view(request, client.id, campaign.id))


async def _view(request: web.Request, client_id: str, campaign_id: str) -> dict[str, object]:
    async with request.app[HUB].uow() as uow:
        campaign = await uow.campaigns.get(campaign_id, client_id)
        if campaign is None:
            raise RequestError("campaign_not_found", f"no campaign {campaign_id}", status=404)
        rows = await uow.campaigns.counts(campaign_id)
        eta = await uow.campaigns.last_due(campaign_id)
    return campaign_view(campaign, rows, eta)


def setup_campaign_routes(app: web.Application) -> None:
    """Mount /v1/campaigns."""
    app.router.add_post("/v1/campaigns", post_campaign)
    app.router.add_get("/v1/campaigns", get_campaigns)
    app.router.add_get("/v1/campaigns/{id}", get_campaign)
    app.router.add_post("/v1/campaigns/{id}/{action}", post_action)
