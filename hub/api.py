"""The HTTP API (aiohttp): `create_app(config, hub=...)` wires routes, middlewares and background work."""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from aiohttp import web
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as SQLAlchemyTimeout

from hub import audit
from hub.accounts import authenticate, create_client
from hub.bootstrap import Hub
from hub.errors import RequestError
from hub.guard import CALLER, admin_actor, guard_middleware
from hub.moderation import decide, submit, template_view
from hub.notify import Accepted
from hub.openapi import openapi_document
from hub.schemas import BatchIn, Decision, NotifyIn, TemplateIn, invalid, parse
from hub.views import notification_view
from storage.models import Client

log = logging.getLogger("notifyhub.api")
HUB = web.AppKey("hub", Hub)
RUN_WORKERS = web.AppKey("run_workers", bool)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def error_response(error: RequestError) -> web.Response:
    """`{error: {code, message}}` with the error's HTTP status."""
    return web.json_response({"error": {"code": error.code, "message": error.message}}, status=error.status)


@web.middleware
async def errors_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every failure becomes a JSON error body; unexpected ones are logged, not leaked."""
    try:
        return await handler(request)
    except RequestError as e:
        return error_response(e)
    except web.HTTPRequestEntityTooLarge:
        return error_response(RequestError("body_too_large", "the request body is over 1 MiB", status=413))
    except web.HTTPException as e:
        if e.status < 400:
            raise
        code = {404: "not_found", 405: "method_not_allowed"}.get(e.status, "http_error")
        return error_response(RequestError(code, e.reason, status=e.status))
    except (SQLAlchemyTimeout, OperationalError, InterfaceError, OSError) as e:
        # the database is overloaded (no pooled connection came free) or unreachable: try again soon
        log.warning("database unavailable on %s %s: %s", request.method, request.path, type(e).__name__)
        message = "the database is busy or unreachable; nothing was changed"
        busy = error_response(RequestError("unavailable", message, status=503))
        busy.headers["Retry-After"] = "1"
        return busy
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(RequestError("internal", "internal error; nothing was changed", status=500))


async def _json(request: web.Request) -> dict[str, Any]:
    raw = await request.read()
    try:
        body = json.loads(raw or b"null")
    except (ValueError, UnicodeDecodeError) as e:
        raise RequestError("malformed_json", f"the body is not valid JSON: {e}", status=400) from e
    if not isinstance(body, dict):
        raise RequestError("malformed_json", "the body must be a JSON object", status=400)
    return body


async def _client(request: web.Request) -> Client:
    header = request.headers.get("Authorization", "")
    scheme, _, key = header.partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise RequestError("unauthorized", "send your API key as 'Authorization: Bearer <key>'", status=401)
    caller = request.get(CALLER)  # resolved by the guard (allow-list and rate limit already applied)
    found = (caller.client, caller.key.role) if caller else None
    found = found or await authenticate(request.app[HUB].uow(), key.strip(), request.app[HUB].clock.now())
    if found is None:
        raise RequestError("unauthorized", "this API key is not valid", status=401)
    if found[1] != "client" and request.method != "GET":  # agent keys read; only client keys send
        raise RequestError("forbidden", "this needs the client's API key, not an agent key", status=403)
    return found[0]


def _admin(request: web.Request) -> None:
    token = request.app[HUB].config.admin_token
    if token is None:
        raise RequestError(
            "admin_disabled", "set admin_token (NOTIFYHUB_ADMIN_TOKEN) to use the admin API", status=403
        )
    given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    if not hmac.compare_digest(given.encode(), token.get_secret_value().encode()):
        raise RequestError("unauthorized", "this admin token is not valid", status=401)


async def healthz(request: web.Request) -> web.Response:
    """Liveness plus a database round trip."""
    async with request.app[HUB].uow() as uow:
        await uow.outbox.pending_count()
    return web.json_response({"status": "ok"})


async def openapi(request: web.Request) -> web.Response:
    """The OpenAPI 3.1 description of this API."""
    return web.json_response(openapi_document())


async def post_template(request: web.Request) -> web.Response:
    """Submit a template for moderation."""
    client = await _client(request)
    body = parse(TemplateIn, await _json(request))
    hub = request.app[HUB]
    template = await submit(hub.uow(), client.id, body, hub.clock.now())
    return web.json_response(template_view(template), status=201)


async def get_template(request: web.Request) -> web.Response:
    """One of the client's templates."""
    client = await _client(request)
    async with request.app[HUB].uow() as uow:
        template = await uow.templates.get(request.match_info["id"], client.id)
    if template is None:
        raise RequestError("template_not_found", f"no template {request.match_info['id']}", status=404)
    return web.json_response(template_view(template))


async def list_templates(request: web.Request) -> web.Response:
    """The client's templates, optionally by status."""
    client = await _client(request)
    async with request.app[HUB].uow() as uow:
        found = await uow.templates.list(client.id, request.query.get("status"))
    return web.json_response({"templates": [template_view(t) for t in found]})


def _result(outcome: Accepted | RequestError) -> dict[str, Any]:
    if isinstance(outcome, RequestError):
        return {"error": {"code": outcome.code, "message": outcome.message}}
    return {"id": outcome.id, "status": outcome.status, "duplicate": outcome.duplicate}


async def post_notify(request: web.Request) -> web.Response:
    """Accept one notification; committed before this answers."""
    client = await _client(request)
    item = parse(NotifyIn, await _json(request))
    hub = request.app[HUB]
    [outcome] = await hub.acceptor.accept(hub.uow(), client, [item], hub.clock.now())
    if isinstance(outcome, RequestError):
        raise outcome
    return web.json_response(_result(outcome), status=200 if outcome.duplicate else 202)


async def post_batch(request: web.Request) -> web.Response:
    """Accept up to 1,000 notifications; each item gets its own result."""
    from pydantic import ValidationError

    client = await _client(request)
    batch = parse(BatchIn, await _json(request))
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
    client = await _client(request)
    view = await notification_view(request.app[HUB].uow(), request.match_info["id"], client.id)
    if view is None:
        raise RequestError(
            "notification_not_found", f"no notification {request.match_info['id']}", status=404
        )
    return web.json_response(view)


async def admin_create_client(request: web.Request) -> web.Response:
    """Operator: register a client; the API key is in this answer only."""
    _admin(request)
    body = await _json(request)
    name = body.get("name")
    if not isinstance(name, str):
        raise RequestError("invalid_field", "name: give the client's name as a string")
    hub = request.app[HUB]
    created = await create_client(hub.uow(), name, hub.clock.now(), admin_actor(request))
    return web.json_response({"id": created.id, "name": created.name, "api_key": created.api_key}, status=201)


async def admin_templates(request: web.Request) -> web.Response:
    """Operator: templates by status (pending by default), across clients."""
    _admin(request)
    async with request.app[HUB].uow() as uow:
        found = await uow.templates.list(None, request.query.get("status", "pending"))
    return web.json_response({"templates": [{**template_view(t), "client_id": t.client_id} for t in found]})


async def admin_decide(request: web.Request) -> web.Response:
    """Operator: approve or reject a template."""
    _admin(request)
    decision = parse(Decision, await _json(request))
    hub = request.app[HUB]
    actor = admin_actor(request)
    uow = audit.moderation(hub.uow(), actor, request.match_info["id"], decision, hub.clock.now())
    template = await decide(uow, request.match_info["id"], decision, hub.clock.now())
    return web.json_response(template_view(template))


def setup_routes(app: web.Application) -> None:
    """Every route of the API in one place."""
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/openapi.json", openapi)
    app.router.add_post("/v1/templates", post_template)
    app.router.add_get("/v1/templates", list_templates)
    app.router.add_get("/v1/templates/{id}", get_template)
    app.router.add_post("/v1/notify", post_notify)
    app.router.add_post("/v1/notify/batch", post_batch)
    app.router.add_get("/v1/notifications/{id}", get_notification)
    app.router.add_post("/v1/admin/clients", admin_create_client)
    app.router.add_get("/v1/admin/templates", admin_templates)
    app.router.add_post("/v1/admin/templates/{id}/decision", admin_decide)
    from hub.api_connections import setup_connection_routes  # imports this module: registered late

    setup_connection_routes(app)  # /v1/admin/connections and the /channels/... ingress
    from hub.api_threads import setup_thread_routes
    from hub.api_webhooks import setup_webhook_routes

    setup_thread_routes(app)  # threads, messages, contacts, surveys, agent keys
    setup_webhook_routes(app)  # /v1/webhooks
    from hub.api_contacts import setup_contact_routes

    setup_contact_routes(app)  # /v1/contacts/{phone}/links, .../ownership, /v1/contacts/import
    from hub.api_keys import setup_key_routes

    setup_key_routes(app)  # /v1/keys, /v1/audit, /v1/admin/clients/{id}, /v1/admin/keys


async def _workers(app: web.Application) -> AsyncIterator[None]:
    hub = app[HUB]
    if app[RUN_WORKERS]:
        hub.start_workers()
    yield
    await hub.stop_workers()


def create_app(hub: Hub, *, run_workers: bool = True) -> web.Application:
    """The aiohttp application over a wired hub; workers run inside unless told otherwise."""
    from hub.metrics import METRICS, Metrics, metrics_middleware, metrics_view

    app = web.Application(
        middlewares=[metrics_middleware, errors_middleware, guard_middleware(hub)],
        client_max_size=hub.config.server.max_body_bytes,
    )
    app[HUB] = hub
    app[METRICS] = Metrics()
    app.router.add_get("/metrics", metrics_view)
    app[RUN_WORKERS] = run_workers
    setup_routes(app)
    from hub.web.pages import setup_web

    setup_web(app)
    app.cleanup_ctx.append(_workers)
    return app
