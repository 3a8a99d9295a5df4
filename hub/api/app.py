"""The HTTP API (aiohttp): `create_app(config, hub=...)` wires routes, middlewares and background work."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable

from aiohttp import web

from hub.api import (
    audiences,
    campaigns,
    clients,
    connections,
    contacts,
    keys,
    notifications,
    reports,
    sandbox,
    templates,
    threads,
    webhooks,
)
from hub.api.guard import guard_middleware
from hub.api.listener import connection_middleware
from hub.api.metrics import METRICS, Metrics, metrics_middleware, metrics_view
from hub.api.openapi import openapi_document
from hub.api.request_input import text_middleware
from hub.api.requests import HUB, error_response
from hub.bootstrap import Hub
from hub.errors import RequestError
from hub.security.failed_attempts import FAILED_ATTEMPTS, FailedAttempts
from hub.web.pages import setup_web
from storage.failures import is_refused_value, is_unavailable

log = logging.getLogger("notifyhub.api")
RUN_WORKERS = web.AppKey("run_workers", bool)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _http_error(e: web.HTTPException) -> web.Response:
    """An aiohttp 4xx/5xx as our error body, keeping the headers it must carry (405's `Allow`)."""
    code = {404: "not_found", 405: "method_not_allowed", 413: "body_too_large"}.get(e.status, "http_error")
    message = "the request body is over the size limit" if e.status == 413 else e.reason
    response = error_response(RequestError(code, message, status=e.status))
    for name in ("Allow", "Retry-After"):
        if name in e.headers:
            response.headers[name] = e.headers[name]
    return response


@web.middleware
async def errors_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every failure becomes a JSON error body; unexpected ones are logged, not leaked."""
    try:
        return await handler(request)
    except RequestError as e:
        return error_response(e)
    except web.HTTPException as e:
        if e.status < 400:
            raise
        return _http_error(e)
    except Exception as e:
        if is_unavailable(e):
            # the database is overloaded (no pooled connection came free), unreachable or stopping
            log.warning(
                "database unavailable on %s %s: %s", request.method, _route(request), type(e).__name__
            )
            message = "the database is busy or unreachable; nothing was changed"
            busy = error_response(RequestError("unavailable", message, status=503))
            busy.headers["Retry-After"] = "1"
            return busy
        if is_refused_value(e):  # a value this request carried that the database cannot hold
            log.info(
                "database refused a value on %s %s: %s", request.method, _route(request), type(e).__name__
            )
            message = "a value in this request is out of range or not storable; nothing was changed"
            return error_response(RequestError("invalid_value", message))
        log.exception("unhandled error on %s %s", request.method, _route(request))
        return error_response(RequestError("internal", "internal error; nothing was changed", status=500))


def _name(error: Exception) -> str:
    return type(error).__name__


def _route(request: web.Request) -> str:
    """The route template for logs (`/channels/vk/{connection}`): paths carry callback tokens."""
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else "unmatched"


async def healthz(request: web.Request) -> web.Response:
    """Liveness plus a database round trip."""
    async with request.app[HUB].uow() as uow:
        await uow.outbox.pending_count()
    return web.json_response({"status": "ok"})


async def openapi(request: web.Request) -> web.Response:
    """The OpenAPI 3.1 description of this API."""
    return web.json_response(openapi_document())


def setup_routes(app: web.Application) -> None:
    """Every route of the API, resource by resource."""
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/openapi.json", openapi)
    app.router.add_get("/metrics", metrics_view)
    app.router.add_post("/v1/templates", templates.post_template)
    app.router.add_get("/v1/templates", templates.list_templates)
    app.router.add_get("/v1/templates/{id}", templates.get_template)
    app.router.add_post("/v1/notify", notifications.post_notify)
    app.router.add_post("/v1/notify/batch", notifications.post_batch)
    app.router.add_get("/v1/notifications/{id}", notifications.get_notification)
    app.router.add_post("/v1/admin/clients", clients.admin_create_client)
    app.router.add_get("/v1/admin/templates", templates.admin_templates)
    app.router.add_post("/v1/admin/templates/{id}/decision", templates.admin_decide)
    app.router.add_get("/v1/reports/delivery", reports.get_delivery_report)
    connections.setup_connection_routes(app)  # /v1/admin/connections and the /channels/... ingress
    threads.setup_thread_routes(app)  # threads, messages, surveys, agent keys
    webhooks.setup_webhook_routes(app)  # /v1/webhooks
    contacts.setup_contact_routes(app)  # /v1/contacts[/{phone}[/links|/ownership]], import, /v1/settings
    audiences.setup_audience_routes(app)  # /v1/groups, /v1/segments
    keys.setup_key_routes(app)  # /v1/keys, /v1/audit, /v1/admin/clients/{id}, /v1/admin/keys
    campaigns.setup_campaign_routes(app)  # /v1/campaigns
    sandbox.setup_sandbox_routes(app)  # /v1/sandbox/inbound, /v1/sandbox/messages, /v1/sandbox/follow


async def _workers(app: web.Application) -> AsyncIterator[None]:
    hub = app[HUB]
    if app[RUN_WORKERS]:
        hub.start_workers()
    yield
    await hub.stop_workers()


def create_app(hub: Hub, *, run_workers: bool = True) -> web.Application:
    """The aiohttp application over a wired hub; workers run inside unless told otherwise."""
    app = web.Application(
        middlewares=[
            metrics_middleware,
            errors_middleware,
            connection_middleware(hub.config.server),
            text_middleware,
            guard_middleware(hub),
        ],
        client_max_size=hub.config.server.max_body_bytes,
    )
    app[HUB] = hub
    server = hub.config.server
    app[FAILED_ATTEMPTS] = FailedAttempts(server.auth_failures_per_minute, server.auth_failure_burst)
    app[METRICS] = Metrics()
    app[RUN_WORKERS] = run_workers
    setup_routes(app)
    setup_web(app)
    app.cleanup_ctx.append(_workers)
    return app
