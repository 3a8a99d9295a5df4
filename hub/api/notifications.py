"""HTTP API for notifications: accept one or a batch (committed before the answer), and read one back."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from hub.api.requests import HUB, client_of, read_json
from hub.api.schemas import BatchIn, NotifyIn, invalid, parse
from hub.delivery.notify import Accepted
from hub.delivery.views import notification_view
from hub.errors import RequestError


def _result(outcome: Accepted | RequestError) -> dict[str, Any]:
    if isinstance(outcome, RequestError):
        return {"error": {"code": outcome.code, "message": outcome.message}}
    return {"id": outcome.id, "status": outcome.status, "duplicate": outcome.duplicate}


async def post_notify(request: web.Request) -> web.Response:
    """Accept one notification; committed before this answers."""
    client = await client_of(request)
    item = parse(NotifyIn, await read_json(request))
    hub = request.app[HUB]
    [outcome] = await hub.acceptor.accept(hub.uow(), client, [item], hub.clock.now())
    if isinstance(outcome, RequestError):
        raise outcome
    return web.json_response(_result(outcome), status=200 if outcome.duplicate else 202)


async def post_batch(request: web.Request) -> web.Response:
    """Accept up to 1,000 notifications; each item gets its own result."""
    from pydantic import ValidationError

    client = await client_of(request)
    batch = parse(BatchIn, await read_json(request))
    items: list[NotifyIn | RequestError] = []
    for raw in batch.items:
        try:
            items.append(NotifyIn.model_validate(raw))
        except ValidationError as e:
            items.append(invalid(e))
    hub = request.app[HUB]
    outcomes = await hub.acceptor.accept(hub.uow(), client, items, hub.clock.now())
    results = [{"index": n, **_result(o)} for n, o in enumerate(outcomes)]
    accepted = sum(1 for o in outcomes if isinstance(o, Accepted))
    return web.json_response(
        {"accepted": accepted, "rejected": len(outcomes) - accepted, "results": results}, status=202
    )


async def get_notification(request: web.Request) -> web.Response:
    """A notification with its legs, cost and timeline."""
    client = await client_of(request)
    view = await notification_view(request.app[HUB].uow(), request.match_info["id"], client.id)
    if view is None:
        raise RequestError(
            "notification_not_found", f"no notification {request.match_info['id']}", status=404
        )
    return web.json_response(view)
