"""Test helpers for the web inbox: sign in with the form, and use a session cookie by hand."""

from __future__ import annotations

import re
from typing import Any

from aiohttp.test_utils import TestClient


async def sign_in(api: TestClient, key: str) -> str:  # type: ignore[type-arg]
    """Post the sign-in form with `key`; the session cookie's value (the client keeps no Secure cookie)."""
    page = await api.get("/inbox/login")
    token = re.search(r'name="csrf" value="([^"]+)"', await page.text())
    assert token is not None
    resp = await api.post("/inbox/login", data={"key": key, "csrf": token.group(1)}, allow_redirects=False)
    assert resp.status == 303, await resp.text()
    return resp.cookies["nh_session"].value


async def visit(api: TestClient, cookie: str, path: str = "/inbox/threads") -> Any:  # type: ignore[type-arg]
    """GET a page with the session cookie, redirects not followed."""
    return await api.get(path, headers={"Cookie": f"nh_session={cookie}"}, allow_redirects=False)


async def csrf_of(api: TestClient, cookie: str, path: str = "/inbox/threads") -> str:  # type: ignore[type-arg]
    """The session's CSRF token, read from a page's sign-out form."""
    page = await visit(api, cookie, path)
    assert page.status == 200, await page.text()
    form = r'action="/inbox/logout"><input type="hidden" name="csrf" value="([^"]+)"'
    token = re.search(form, await page.text())
    assert token is not None
    return token.group(1)


async def sign_out(api: TestClient, cookie: str, csrf: str) -> Any:  # type: ignore[type-arg]
    """POST /inbox/logout with the cookie and a CSRF token."""
    headers = {"Cookie": f"nh_session={cookie}"}
    return await api.post("/inbox/logout", data={"csrf": csrf}, headers=headers, allow_redirects=False)
