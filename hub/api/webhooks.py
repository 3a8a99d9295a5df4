"""HTTP API for client webhooks: endpoints (create, list, delete, rotate), delivery log, replay.

The signing secret appears only in the answers to create and rotate. Client keys only. A rotation
keeps the old secret signing beside the new one for an overlap (default
`webhooks.secret_overlap_hours`, 24 h), so the receiver can switch without refusing deliveries.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiohttp import web

from hub.api.guard import CALLER, key_actor
from hub.api.request_input import INT32_MAX, query_int
from hub.api.requests import HUB, principal, read_json
from hub.api.schemas import ReplayIn, WebhookIn, WebhookRotateIn, parse
from hub.clock import iso
from hub.errors import RequestError
from hub.ids import new_id
from hub.security import audit
from hub.security.keys import require_current
from hub.webhooks.events import EVENTS, new_secret, rotation
from storage.models import WebhookDelivery, WebhookEndpoint


async def _client_id(request: web.Request, *, manage: bool = False) -> str:
    """The client behind a client key; with `manage`, a rotated-away key gets 403 (it sees secrets)."""
    who = await principal(request)
    if who.role != "client":
        raise RequestError("forbidden", "webhooks are managed with the client's API key", status=403)
    caller = request.get(CALLER)
    if manage and caller is not None:
        require_current(caller.key)
    return who.client_id


def endpoint_view(ep: WebhookEndpoint, now: float, secret: bool = False) -> dict[str, Any]:
    """An endpoint; the secret only when just created or rotated (the previous one never).

    `previous_secret_expires_at`: until when the secret before the last rotation still signs too.
    """
    view: dict[str, Any] = {"id": ep.id, "url": ep.url, "events": ep.events or list(EVENTS)}
    view["created_at"] = iso(ep.created_at)
    overlap = ep.previous_until is not None and ep.previous_until > now
    view["previous_secret_expires_at"] = iso(ep.previous_until) if overlap else None
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
    client_id = await _client_id(request, manage=True)
    body = parse(WebhookIn, await read_json(request))
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
    return web.json_response(endpoint_view(ep, hub.clock.now(), secret=True), status=201)


async def list_webhooks(request: web.Request) -> web.Response:
    """The client's endpoints (without secrets)."""
    client_id = await _client_id(request)
    hub = request.app[HUB]
    async with hub.uow() as uow:
        found = await uow.webhooks.endpoints([client_id])
    return web.json_response({"webhooks": [endpoint_view(e, hub.clock.now()) for e in found]})


Change = Callable[[WebhookEndpoint], dict[str, Any]]


async def _change(
    request: web.Request, action: str | None = None, change: Change | None = None, **details: Any
) -> WebhookEndpoint:
    """Load the client's endpoint and apply `change` (its new column values), audited as `action`."""
    client_id = await _client_id(request, manage=change is not None)
    uow, now = request.app[HUB].uow(), request.app[HUB].clock.now()
    if action is not None:  # audited in the change's own transaction
        target = request.match_info["id"]
        audit.record(
            uow, key_actor(request), action, now, client_id=client_id, target=target, details=details or None
        )
    async with uow:
        ep = await uow.webhooks.endpoint(request.match_info["id"], client_id)
        if ep is None:
            raise RequestError("webhook_not_found", f"no webhook {request.match_info['id']}", status=404)
        if change is not None:
            await uow.webhooks.update_endpoint(ep, **change(ep))  # seals new secrets
        await uow.commit()
    return ep


async def get_webhook(request: web.Request) -> web.Response:
    """One endpoint (without its secret)."""
    return web.json_response(endpoint_view(await _change(request), request.app[HUB].clock.now()))


async def delete_webhook(request: web.Request) -> web.Response:
    """Remove an endpoint; its pending deliveries die."""
    now = request.app[HUB].clock.now()
    await _change(request, "webhook.deleted", lambda _: {"deleted_at": now})
    return web.Response(status=204)


async def rotate_webhook(request: web.Request) -> web.Response:
    """A new signing secret; the old one keeps signing beside it for the overlap (`overlap_hours`)."""
    await _client_id(request, manage=True)  # 401/403 before the body is looked at
    body = parse(WebhookRotateIn, await read_json(request) if await request.read() else {})
    hub = request.app[HUB]
    hours = hub.config.webhooks.secret_overlap_hours if body.overlap_hours is None else body.overlap_hours
    now = hub.clock.now()
    rotated = await _change(
        request, "webhook.rotated", lambda ep: rotation(ep, now, hours * 3600), overlap_hours=hours
    )
    return web.json_response(endpoint_view(rotated, now, secret=True))


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
    body = parse(ReplayIn, await read_json(request))
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
