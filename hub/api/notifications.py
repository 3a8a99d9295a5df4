"""HTTP API for notifications: accept one or a batch (committed before the answer), and read one back."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import ValidationError

from hub.api.request_input import check_text
from hub.api.requests import HUB, client_of, read_json
from hub.api.schemas import BatchIn, NotifyIn, invalid, parse
from hub.delivery.idempotency import HEADER as IDEMPOTENCY_HEADER
from hub.delivery.idempotency import with_header_key
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
    item = parse(NotifyIn, with_header_key(await read_json(request), request.headers.get(IDEMPOTENCY_HEADER)))
    hub = request.app[HUB]
    [outcome] = await hub.acceptor.accept(hub.uow(), client, [item], hub.clock.now())
    if isinstance(outcome, RequestError):
        raise outcome
    return web.json_response(_result(outcome), status=200 if outcome.duplicate else 202)


def _batch_item(n: int, raw: Any) -> NotifyIn | RequestError:
    """One batch item validated on its own: a bad one becomes its own error, never the batch's."""
    if not isinstance(raw, dict):
        return RequestError("invalid_item", f"items[{n}]: each item must be a JSON object")
    try:
        check_text(raw, f"items[{n}]")
        return NotifyIn.model_validate(raw)
    except RequestError as e:
        return e
    except ValidationError as e:
        return invalid(e)


async def post_batch(request: web.Request) -> web.Response:
    """Accept up to 1,000 notifications; each item gets its own result."""
    client = await client_of(request)
    if IDEMPOTENCY_HEADER in request.headers:
        message = f"a batch takes no {IDEMPOTENCY_HEADER} header: give each item its own idempotency_key"
        raise RequestError("idempotency_key_unsupported", message)
    body = await read_json(request, text_checked=False)
    check_text({k: v for k, v in body.items() if k != "items"})
    batch = parse(BatchIn, body)
    items = [_batch_item(n, raw) for n, raw in enumerate(batch.items)]
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
