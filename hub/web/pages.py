"""Handlers of the web inbox: sign-in, the operator's template console, connection health, dashboard.

Every page is rendered on the server with autoescaping (customer texts are hostile input); every
POST carries the session's CSRF token; the session cookie is HttpOnly, SameSite=Strict and signed,
and names a session row in the database (see `hub.web.session`): signing out deletes the row, so
a copied cookie dies with it; an operator session ends when the admin token changes, an agent's
when its key does. A cookie or CSRF field of any bytes gets the sign-in page or 403, never a 500.
An agent sees only its own client.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import jinja2
from aiohttp import web
from multidict import MultiDict, MultiDictProxy

from hub.api.guard import caller_ip, session_actor
from hub.api.requests import HUB
from hub.api.schemas import Decision, parse
from hub.bootstrap import Hub
from hub.clock import iso
from hub.delivery.moderation import decide
from hub.errors import RequestError
from hub.ids import hash_key
from hub.security import audit
from hub.security.allowlist import allowed
from hub.security.failed_attempts import FAILED_ATTEMPTS
from hub.web.assets import setup_assets
from hub.web.rendering import HERE, JINJA, SECURITY_HEADERS, SESSION, render
from hub.web.session import (
    COOKIE,
    Role,
    Session,
    admin_fingerprint,
    csrf_ok,
    new_session,
    same_token,
    seal,
    session_id,
    session_of,
    unseal,
)
from hub.web.threads import setup_thread_pages
from storage.models import WebSession

SECRET = web.AppKey("web_secret", bytes)
LOGIN_CSRF = "nh_login_csrf"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _admin_token(hub: Hub) -> str | None:
    token = hub.config.admin_token
    return token.get_secret_value() if token is not None else None


def _redirect(location: str) -> web.HTTPSeeOther:
    return web.HTTPSeeOther(location, headers=SECURITY_HEADERS)


def _now(request: web.Request) -> float:
    return request.app[HUB].clock.now()


@web.middleware
async def session_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Pages under /inbox need a live session; POSTs need its CSRF token too."""
    path = request.path
    if not path.startswith("/inbox") or path.startswith(("/inbox/login", "/inbox/static")):
        return await handler(request)
    token = unseal(request.cookies.get(COOKIE), request.app[SECRET])
    session = await _live_session(request, token) if token else None
    if session is None:
        raise _redirect("/inbox/login?expired=1" if COOKIE in request.cookies else "/inbox/login")
    if request.method == "POST":
        form = await _form(request)
        token = request.headers.get("X-CSRF-Token") or form.get("csrf")
        if not csrf_ok(session, token if isinstance(token, str) else None):
            return render(request, "error.html", status=403, message_key="csrf")
    request[SESSION] = session
    return await handler(request)


async def _live_session(request: web.Request, token: str) -> Session | None:
    """The session a cookie's token names, while its row lives and what it was opened with still holds.

    An operator session needs the admin token it signed in with; a client or agent session needs
    its key live and the caller's address allowed.
    """
    hub, now = request.app[HUB], _now(request)
    async with hub.uow() as uow:
        row = await uow.web_sessions.live(session_id(token), now)
        if row is None:
            return None
        session = session_of(row)
        if session.operator:
            current = admin_fingerprint(_admin_token(hub), request.app[SECRET])
            return session if same_token(row.admin_fingerprint, current) else None
        if session.key_id is None:
            return None
        found = await uow.clients.principal_by_key_id(session.key_id, now)
    return session if found is not None and allowed(caller_ip(request), found[0].ip_allowlist) else None


async def _form(request: web.Request) -> MultiDictProxy[Any]:
    """The posted form; an empty one when the body is not a form of text (any bytes may arrive)."""
    try:
        return await request.post()
    except ValueError:  # UnicodeDecodeError included
        return MultiDictProxy(MultiDict())


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


async def login_page(request: web.Request) -> web.Response:
    """The sign-in form, with a double-submit CSRF token."""
    token = secrets.token_urlsafe(16)
    response = render(request, "login.html", csrf=token, expired="expired" in request.query, error=False)
    response.set_cookie(LOGIN_CSRF, token, httponly=True, samesite="Strict", path="/inbox/login")
    return response


async def login(request: web.Request) -> web.StreamResponse:
    """Exchange an agent key (or the admin token) for a session cookie."""
    form = await _form(request)
    key = (_text(form.get("key")) or "").strip()
    if not same_token(request.cookies.get(LOGIN_CSRF), _text(form.get("csrf"))):
        return render(request, "error.html", status=403, message_key="csrf")
    hub, now = request.app[HUB], _now(request)
    attempts, address = request.app[FAILED_ATTEMPTS], caller_ip(request) or "-"
    refusal = attempts.refusal(address, now)
    if refusal is not None:  # checked before the key, so a right guess looks like a wrong one
        response = render(request, "error.html", status=429, message_key="too_many_attempts")
        response.headers["Retry-After"] = str(refusal.retry_after)
        return response
    minutes = hub.config.web.session_minutes
    row: WebSession | None = None
    if same_token(_admin_token(hub), key):
        fingerprint = admin_fingerprint(_admin_token(hub), request.app[SECRET])
        row, token = new_session("operator", None, "operator", now, minutes, admin_fingerprint=fingerprint)
    elif key and key.isascii():  # API keys are ASCII; anything else matches none
        async with hub.uow() as uow:
            found = await uow.clients.principal(hash_key(key), now)
        if found is not None and not allowed(caller_ip(request), found[0].ip_allowlist):
            return render(request, "error.html", status=403, message="ip_not_allowed: not from this address")
        if found is not None:
            client, api_key = found
            role: Role = "agent" if api_key.role == "agent" else "client"
            name = api_key.name if role == "agent" and api_key.name else client.name
            row, token = new_session(role, client.id, name, now, minutes, api_key.id)
    if row is None:
        attempts.failed(address, now)
        csrf = secrets.token_urlsafe(16)
        response = render(request, "login.html", status=401, csrf=csrf, error=True, expired=False)
        response.set_cookie(LOGIN_CSRF, csrf, httponly=True, samesite="Strict", path="/inbox/login")
        return response
    async with hub.uow() as uow:
        await uow.web_sessions.open(row)
        await uow.commit()
    response = _redirect("/inbox/console" if row.role == "operator" else "/inbox/threads")
    response.set_cookie(
        COOKIE,
        seal(token, request.app[SECRET]),
        httponly=True,
        secure=True,
        samesite="Strict",
        path="/inbox",
        max_age=minutes * 60,
    )
    response.del_cookie(LOGIN_CSRF, path="/inbox/login")
    raise response


async def logout(request: web.Request) -> web.StreamResponse:
    """End the session (every copy of its cookie) and forget the cookie."""
    session: Session = request[SESSION]
    async with request.app[HUB].uow() as uow:
        await uow.web_sessions.end(session.id)
        await uow.commit()
    response = _redirect("/inbox/login")
    response.del_cookie(COOKIE, path="/inbox")
    raise response


async def home(request: web.Request) -> web.StreamResponse:
    """Where a signed-in visitor starts."""
    session: Session = request[SESSION]
    raise _redirect("/inbox/console" if session.operator else "/inbox/threads")


async def console(request: web.Request) -> web.Response:
    """Templates: the operator moderates pending ones; a client's people see their own."""
    session: Session = request[SESSION]
    async with request.app[HUB].uow() as uow:
        if session.operator:
            templates = await uow.templates.list(None, "pending")
            names = {c.id: c.name for c in await uow.clients.list()}
        else:
            templates = await uow.templates.list(session.client_id)
            names = {session.client_id or "": session.name}
    rows = [
        {"t": t, "client": names.get(t.client_id, t.client_id), "created": iso(t.created_at)}
        for t in templates
    ]
    return render(request, "console.html", rows=rows)


async def decide_template(request: web.Request) -> web.StreamResponse:
    """Operator: approve or reject a template from the console."""
    session: Session = request[SESSION]
    if not session.operator:
        return render(request, "error.html", status=403, message_key="console")
    form = await request.post()
    status = str(form.get("status", ""))
    reason = str(form.get("reason", "")).strip() or None
    hub = request.app[HUB]
    try:
        decision = parse(Decision, {"status": status, "reason": reason})
        actor = session_actor(request, session)
        uow = audit.moderation(hub.uow(), actor, request.match_info["id"], decision, _now(request))
        await decide(uow, request.match_info["id"], decision, _now(request))
    except RequestError as e:
        return render(request, "error.html", status=e.status, message=e.message)
    raise _redirect("/inbox/console")


async def connections(request: web.Request) -> web.Response:
    """Connection health: status, last event, last error (never a token)."""
    session: Session = request[SESSION]
    async with request.app[HUB].uow() as uow:
        found = await uow.connections.live(None if session.operator else session.client_id)
    rows = [{"c": c, "last_event": iso(c.last_event_at)} for c in found]
    return render(request, "connections.html", rows=rows)


async def dashboard(request: web.Request) -> web.Response:
    """Today's funnel per channel as a bar chart."""
    session: Session = request[SESSION]
    today = datetime.fromtimestamp(_now(request), UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    async with request.app[HUB].uow() as uow:
        funnel = await uow.reports.funnel(today.timestamp(), None if session.operator else session.client_id)
    peak = max([1, *(n for stages in funnel.values() for n in stages.values())])
    return render(
        request, "dashboard.html", funnel=sorted(funnel.items()), peak=peak, day=today.date().isoformat()
    )


def _when(value: str | None) -> str:
    """An ISO time as `2026-11-24 15:47 UTC` (or a dash)."""
    return f"{value[:10]} {value[11:16]} UTC" if value else "—"


def setup_web(app: web.Application) -> None:
    """Mount /inbox on the API application."""
    hub = app[HUB]
    secret = hub.config.web.session_secret
    app[SECRET] = secret.get_secret_value().encode() if secret else secrets.token_bytes(32)
    app[JINJA] = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True, undefined=jinja2.StrictUndefined
    )
    app[JINJA].filters["when"] = _when
    app.middlewares.append(session_middleware)
    app.router.add_get("/inbox", home)
    app.router.add_get("/inbox/login", login_page)
    app.router.add_post("/inbox/login", login)
    app.router.add_post("/inbox/logout", logout)
    app.router.add_get("/inbox/console", console)
    app.router.add_post("/inbox/console/templates/{id}/decision", decide_template)
    app.router.add_get("/inbox/connections", connections)
    app.router.add_get("/inbox/dashboard", dashboard)
    setup_assets(app, "/inbox/static", HERE / "static")
    setup_thread_pages(app)
