"""Rendering inbox pages: templates in the visitor's language, security headers, the page's session.

Shared by the page modules (`hub.web.pages`, `hub.web.threads`); neither imports the other for it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2
from aiohttp import web

from hub.web.i18n import LANG_COOKIE, TEXTS, pick_lang
from hub.web.session import Session

HERE = Path(__file__).parent
JINJA = web.AppKey("web_jinja", jinja2.Environment)
SESSION = web.RequestKey("web_session", Session)
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
