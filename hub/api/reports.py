"""HTTP API for statistics: `GET /v1/reports/delivery`."""

from __future__ import annotations

from aiohttp import web

from hub.api.requests import HUB, principal
from hub.delivery.report import delivery_report
from hub.security.retention import parse_duration


async def get_delivery_report(request: web.Request) -> web.Response:
    """`GET /v1/reports/delivery?since=7d`: the calling client's report (default: the last 7 days)."""
    who = await principal(request)
    hub = request.app[HUB]
    since = hub.clock.now() - parse_duration(request.query.get("since", "7d"), "since")
    return web.json_response(await delivery_report(hub.uow(), since, who.client_id))
