"""HTTP API for client webhooks: endpoints (create, list, delete, rotate), delivery log, replay.

The signing secret appears only in the answers to create and rotate. Client keys only.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from hub import audit
from hub.api import HUB, _json
from hub.api_threads import principal
from hub.clock import iso
from hub.errors import RequestError
from hub.guard import key_actor
from hub.ids import new_id
from hub.request_input import INT32_MAX, query_int
from hub.schemas import ReplayIn, WebhookIn, parse
from hub.webhooks import EVENTS, new_secret
from storage.models import WebhookDelivery, WebhookEndpoint


async def _client_id(request: web.Request) -> str:
    who = await principal(request)
    if who.role != "client":
        raise RequestError("forbidden", "webhooks are managed with the client's API key", status=403)
    return who.client_id


def endpoint_view(ep: WebhookEndpoint, secret: bool = False) -> dict[str, Any]:
    """An endpoint; the secret only when just created or rotated."""
    view: dict[str, Any] = {"id": ep.id, "url": ep.url, "events": ep.events or list(EVENTS)}
    view["created_at"] = iso(ep.created_at)
    if secret:
        view["secret"] = ep.secret
    return view


def delivery_view(d: WebhookDelivery) -> dict[str, Any]:
    """One delivery in the log."""
    return {
        "id": d.id,
        "seq": d.seq,
        "endpoint_id": d.endpoint_id,
        "event": d.event,
        "status": d.status,
        "attempts": d.attempts,
        "last_status": d.last_status,
        "last_error": d.last_error,
        "created_at": iso(d.created_at),
        "next_attempt_at": iso(d.next_attempt_at) if d.status == "pending" else None,
        "delivered_at": iso(d.delivered_at),
        "payload": d.payload,
    }


async def post_webhook(request: web.Request) -> web.Response:
    """Register an endpoint; the answer carries its signing secret."""
    client_id = await _client_id(request)
    body = parse(WebhookIn, await _json(request))
    hub = request.app[HUB]
    if hub.url_guard is not None:  # no loopback, private or link-local receivers unless allowed
        await hub.url_guard.check(body.url)
    ep = WebhookEndpoint(
        id=new_id("whk"),
        client_id=client_id,
        url=body.url,
        events=list(body.events or []),
        secret=new_secret(),
        created_at=hub.clock.now(),
    )
    details = {"url": audit.url_origin(ep.url), "events": ep.events}
    actor = key_actor(request)
    uow = audit.record(
        hub.uow(), actor, "webhook.created", ep.created_at, client_id=client_id, target=ep.id, details=details
    )
    async with uow:
        await uow.webhooks.add_endpoint(ep)
        await uow.commit()
    return web.json_response(endpoint_view(ep, secret=True), status=201)


async def list_webhooks(request: web.Request) -> web.Response:
    """The client's endpoints (without secrets)."""
    client_id = await _client_id(request)
    async with request.app[HUB].uow() as uow:
        found = await uow.webhooks.endpoints([client_id])
    return web.json_response({"webhooks": [endpoint_view(e) for e in found]})


async def _change(request: web.Request, action: str | None = None, **values: Any) -> WebhookEndpoint:
    client_id = await _client_id(request)
    uow, now = request.app[HUB].uow(), request.app[HUB].clock.now()
    if action is not None:  # audited in the change's own transaction
        target = request.match_info["id"]
        audit.record(uow, key_actor(request), action, now, client_id=client_id, target=target)
    async with uow:
        ep = await uow.webhooks.endpoint(request.match_info["id"], client_id)
        if ep is None:
            raise RequestError("webhook_not_found", f"no webhook {request.match_info['id']}", status=404)
        await uow.webhooks.update_endpoint(ep, **values)  # seals a new secret
        await uow.commit()
    return ep


async def get_webhook(request: web.Request) -> web.Response:
    """One endpoint (without its secret)."""
    return web.json_response(endpoint_view(await _change(request)))


async def delete_webhook(request: web.Request) -> web.Response:
    """Remove an endpoint; its pending deliveries die."""
    await _change(request, "webhook.deleted", deleted_at=request.app[HUB].clock.now())
    return web.Response(status=204)


async def rotate_webhook(request: web.Request) -> web.Response:
    """A new signing secret, effective for every attempt from now on."""
    rotated = await _change(request, "webhook.rotated", secret=new_secret())
    return web.json_response(endpoint_view(rotated, secret=True))


async def get_deliveries(request: web.Request) -> web.Response:
    """The delivery log, newest first (`before` = the last `seq` seen)."""
    client_id = await _client_id(request)
    q = request.query
    before = query_int(q, "before")
    limit = min(200, query_int(q, "limit", 50, low=1, high=INT32_MAX) or 50)
    async with request.app[HUB].uow() as uow:
        found = await uow.webhooks.log(
            client_id, status=q.get("status"), endpoint_id=q.get("endpoint_id"), limit=limit, before=before
        )
    nxt = found[-1].seq if len(found) == limit else None
    return web.json_response({"deliveries": [delivery_view(d) for d in found], "next_before": nxt})


async def post_replay(request: web.Request) -> web.Response:
    """Send deliveries again: by id, or every dead one created within [since, until]."""
    client_id = await _client_id(request)
    body = parse(ReplayIn, await _json(request))
    if not body.ids and body.since is None and body.until is None:
        raise RequestError("missing_field", "ids, or since/until: say what to replay")
    hub = request.app[HUB]
    since, until = (t.isoformat() if t else None for t in (body.since, body.until))
    details = {"ids": len(body.ids or []), "since": since, "until": until}
    actor = key_actor(request)
    now = hub.clock.now()
    uow = audit.record(hub.uow(), actor, "webhook.replayed", now, client_id=client_id, details=details)
    async with uow:
        count = await uow.webhooks.replay(
            client_id,
            hub.clock.now(),
            ids=body.ids,
            since=body.since.timestamp() if body.since else None,
            until=body.until.timestamp() if body.until else None,
        )
        await uow.commit()
    return web.json_response({"replayed": count})


def setup_webhook_routes(app: web.Application) -> None:
    """Webhook routes."""
    app.router.add_post("/v1/webhooks", post_webhook)
    app.router.add_get("/v1/webhooks", list_webhooks)
    app.router.add_get("/v1/webhooks/deliveries", get_deliveries)
    app.router.add_post("/v1/webhooks/replay", post_replay)
    app.router.add_get("/v1/webhooks/{id}", get_webhook)
    app.router.add_delete("/v1/webhooks/{id}", delete_webhook)
    app.router.add_post("/v1/webhooks/{id}/rotate", rotate_webhook)
