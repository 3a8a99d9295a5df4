"""Handlers of the web inbox: sign-in, the operator's template console, connection health, dashboard.

Every page is rendered on the server with autoescaping (customer texts are hostile input); every
POST carries the session's CSRF token; the session cookie is HttpOnly, SameSite=Strict, signed and
expiring; an agent sees only its own client.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jinja2
from aiohttp import web

from hub import audit
from hub.allowlist import allowed
from hub.api import HUB
from hub.clock import iso
from hub.errors import RequestError
from hub.guard import caller_ip, session_actor
from hub.ids import hash_key
from hub.moderation import decide
from hub.schemas import Decision, parse
from hub.web.assets import setup_assets
from hub.web.i18n import LANG_COOKIE, TEXTS, pick_lang
from hub.web.session import COOKIE, Role, Session, csrf_ok, new_session, seal, unseal

HERE = Path(__file__).parent
SECRET = web.AppKey("web_secret", bytes)
JINJA = web.AppKey("web_jinja", jinja2.Environment)
SESSION = web.RequestKey("web_session", Session)
LOGIN_CSRF = "nh_login_csrf"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


def render(request: web.Request, name: str, status: int = 200, **context: Any) -> web.Response:
    """A page in the visitor's language, with the session (if any) for the header."""
    lang = pick_lang(request)
    template = request.app[JINJA].get_template(name)
    session: Session | None = request.get(SESSION)
    html = template.render(t=TEXTS[lang], lang=lang, session=session, path=request.path, **context)
    response = web.Response(text=html, content_type="text/html", status=status)
    if request.query.get("lang") in TEXTS:
        response.set_cookie(
            LANG_COOKIE, request.query["lang"], max_age=365 * 86400, samesite="Strict", path="/inbox"
        )
    response.headers.update(SECURITY_HEADERS)
    return response


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
    session = unseal(request.cookies.get(COOKIE), request.app[SECRET], _now(request))
    if session is not None and not await _still_allowed(request, session):
        session = None
    if session is None:
        raise _redirect("/inbox/login?expired=1" if COOKIE in request.cookies else "/inbox/login")
    if request.method == "POST":
        form = await request.post()
        token = request.headers.get("X-CSRF-Token") or form.get("csrf")
        if not csrf_ok(session, token if isinstance(token, str) else None):
            return render(request, "error.html", status=403, message_key="csrf")
    request[SESSION] = session
    return await handler(request)


async def _still_allowed(request: web.Request, session: Session) -> bool:
    """A client or agent session lasts only while its key is live and the caller's address is allowed."""
    if session.operator:
        return True
    if session.key_id is None:  # a cookie from before sessions named their key: sign in again
        return False
    async with request.app[HUB].uow() as uow:
        found = await uow.clients.principal_by_key_id(session.key_id, _now(request))
    return found is not None and allowed(caller_ip(request), found[0].ip_allowlist)


async def login_page(request: web.Request) -> web.Response:
    """The sign-in form, with a double-submit CSRF token."""
    token = secrets.token_urlsafe(16)
    response = render(request, "login.html", csrf=token, expired="expired" in request.query, error=False)
    response.set_cookie(LOGIN_CSRF, token, httponly=True, samesite="Strict", path="/inbox/login")
    return response


async def login(request: web.Request) -> web.StreamResponse:
    """Exchange an agent key (or the admin token) for a session cookie."""
    form = await request.post()
    key = str(form.get("key", "")).strip()
    if not hmac.compare_digest(str(form.get("csrf", "")), request.cookies.get(LOGIN_CSRF, "-")):
        return render(request, "error.html", status=403, message_key="csrf")
    hub = request.app[HUB]
    minutes = hub.config.web.session_minutes
    session: Session | None = None
    admin = hub.config.admin_token
    if admin and hmac.compare_digest(key.encode(), admin.get_secret_value().encode()):
        session = new_session("operator", None, "operator", _now(request), minutes)
    elif key:
        async with hub.uow() as uow:
            found = await uow.clients.principal(hash_key(key), _now(request))
        if found is not None and not allowed(caller_ip(request), found[0].ip_allowlist):
            return render(request, "error.html", status=403, message="ip_not_allowed: not from this address")
        if found is not None:
            client, api_key = found
            role: Role = "agent" if api_key.role == "agent" else "client"
            name = api_key.name if role == "agent" and api_key.name else client.name
            session = new_session(role, client.id, name, _now(request), minutes, api_key.id)
    if session is None:
        token = secrets.token_urlsafe(16)
        response = render(request, "login.html", status=401, csrf=token, error=True, expired=False)
        response.set_cookie(LOGIN_CSRF, token, httponly=True, samesite="Strict", path="/inbox/login")
        return response
    response = _redirect("/inbox/console" if session.operator else "/inbox/threads")
    response.set_cookie(
        COOKIE,
        seal(session, request.app[SECRET]),
        httponly=True,
        secure=True,
        samesite="Strict",
        path="/inbox",
        max_age=minutes * 60,
    )
    response.del_cookie(LOGIN_CSRF, path="/inbox/login")
    raise response


async def logout(request: web.Request) -> web.StreamResponse:
    """Forget the session cookie."""
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
    from hub.web.threads import setup_thread_pages  # imports this module: registered late

    setup_thread_pages(app)
