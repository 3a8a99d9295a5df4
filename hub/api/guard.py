"""The /v1 request guard: resolves the bearer key once, then applies the client's allow-list and rate limit.

It covers every `/v1/...` route except the operator's `/v1/admin/...` (admin token, not a client
key), so routes added later are guarded without registering anything. Channel ingress,
/healthz, /metrics and /inbox are not client-key routes and pass untouched. A request without
a valid key also passes: its handler answers 401 as before. Refusals (403 `ip_not_allowed`,
429 `rate_limited` with `Retry-After`) happen before the handler, so nothing is written. Every
request takes one token, whatever it carries: a batch of 1,000 notifications is one request.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web
from aiohttp.typedefs import Middleware

from hub.bootstrap import Hub
from hub.ids import hash_key
from hub.security.allowlist import allowed, client_ip
from hub.security.audit import Actor, ActorKind
from hub.security.ratelimit import ClientLimiter, Limit, client_limit
from hub.web.session import Session
from storage.models import ApiKey, Client

log = logging.getLogger("notifyhub.guard")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Caller:
    """The client and key behind a request's bearer key, resolved once by the guard."""

    client: Client
    key: ApiKey


CALLER = web.RequestKey("nh_caller", Caller)
CALLER_IP = web.RequestKey("nh_caller_ip", str)


def bearer(request: web.Request) -> str | None:
    """The bearer token of the request, if it sent one."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


def caller_ip(request: web.Request) -> str | None:
    """The caller's address as the guard saw it (X-Forwarded-For only from trusted proxies)."""
    ip: str | None = request.get(CALLER_IP)
    return ip


def key_actor(request: web.Request, caller: Caller | None = None) -> Actor:
    """The audit actor of a request made with a client or agent key."""
    caller = caller or request.get(CALLER)
    if caller is None:  # only when the app runs without the guard
        return Actor("client", None, None, caller_ip(request))
    kind: ActorKind = "agent" if caller.key.role == "agent" else "client"
    return Actor(kind, caller.key.id, caller.key.name or caller.client.name, caller_ip(request))


def admin_actor(request: web.Request) -> Actor:
    """The audit actor of a request made with the admin token."""
    return Actor("admin", "admin", "admin token", caller_ip(request))


def session_actor(request: web.Request, session: Session) -> Actor:
    """The audit actor of a web inbox or console session (`id` is `inbox`)."""
    kind: ActorKind = "admin" if session.operator else ("agent" if session.role == "agent" else "client")
    return Actor(kind, "inbox", session.name, caller_ip(request))


def _guarded(path: str) -> bool:
    return path.startswith("/v1/") and not path.startswith("/v1/admin/")


def _refusal(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> web.Response:
    body = {"error": {"code": code, "message": message}}
    return web.json_response(body, status=status, headers=headers)


def guard_middleware(hub: Hub) -> Middleware:
    """The guard for one application; its token buckets live as long as the application."""
    limiter = ClientLimiter()
    security = hub.config.security
    default = Limit(security.rate_limit_per_second, security.rate_limit_burst)
    trusted = hub.config.server.trusted_proxies

    @web.middleware
    async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
        ip = client_ip(request.remote, request.headers.get("X-Forwarded-For"), trusted)
        if ip is not None:
            request[CALLER_IP] = ip
        key = bearer(request) if _guarded(request.path) else None
        if key is None:
            return await handler(request)
        now = hub.clock.now()
        async with hub.uow() as uow:
            found = await uow.clients.principal(hash_key(key), now)
        if found is None:
            return await handler(request)  # the handler answers 401
        client, api_key = found
        if not allowed(ip, client.ip_allowlist):
            log.warning("refused key=%s client=%s ip=%s: not in the allow-list", api_key.id, client.id, ip)
            return _refusal(403, "ip_not_allowed", f"this client's keys may not be used from {ip}")
        if security.rate_limit_enabled:
            limit = client_limit(client.rate_limit_per_second, client.rate_limit_burst, default)
            verdict = limiter.take(client.id, limit, now)
            if not verdict.allowed:
                wait = verdict.retry_after_header
                message = f"over {limit.per_second:g} requests/s (burst {limit.burst}); retry in {wait} s"
                return _refusal(429, "rate_limited", message, {"Retry-After": wait})
        request[CALLER] = Caller(client, api_key)
        return await handler(request)

    return guard
