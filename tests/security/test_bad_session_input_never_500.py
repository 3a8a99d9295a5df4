"""Forged, garbled or non-ASCII session cookies and CSRF fields get the sign-in page or 403, never a 500."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest
from aiohttp.test_utils import TestClient

from hub.api.app import create_app
from hub.bootstrap import Hub
from tests.support.inbox_session import sign_in, visit

MakeClient = Callable[..., Awaitable[TestClient]]  # type: ignore[type-arg]
COOKIES = [
    "привет.подпись",
    "é",
    "eyJzaWQiOiJ4In0.é",
    "forged.value",
    "a.b.c",
    ".",
    "x" * 4000,
    "%FF%FE.%00",
]
TOKENS = ["привет", "é", "\u0000", "x" * 4000, ""]


@pytest.fixture
async def api(hub: Hub, aiohttp_client: MakeClient) -> TestClient:  # type: ignore[type-arg]
    return await aiohttp_client(create_app(hub, run_workers=False))


@pytest.mark.parametrize("cookie", COOKIES)
async def test_a_bad_cookie_gets_the_sign_in_page(api: TestClient, cookie: str) -> None:  # type: ignore[type-arg]
    for path in ("/inbox/threads", "/inbox/console", "/inbox"):
        resp = await visit(api, cookie, path)
        assert resp.status == 303 and resp.headers["Location"].startswith("/inbox/login"), resp.status
    headers = {"Cookie": f"nh_session={cookie}"}
    resp = await api.post("/inbox/logout", data={"csrf": "x"}, headers=headers, allow_redirects=False)
    assert resp.status == 303


async def test_raw_non_utf8_cookie_bytes_get_the_sign_in_page(api: TestClient) -> None:  # type: ignore[type-arg]
    reader, writer = await asyncio.open_connection(api.host, api.port)
    request = b"GET /inbox/threads HTTP/1.1\r\nHost: x\r\nCookie: nh_session=\xff\xfe.\xc3\x28\r\n"
    writer.write(request + b"Connection: close\r\n\r\n")
    status_line = await reader.readline()
    writer.close()
    await writer.wait_closed()
    assert status_line.split()[1] == b"303", status_line


@pytest.mark.parametrize("token", TOKENS)
async def test_a_bad_csrf_field_or_header_gets_403(api: TestClient, token: str) -> None:  # type: ignore[type-arg]
    cookie = await sign_in(api, "admin-secret")
    headers = {"Cookie": f"nh_session={cookie}"}
    form = await api.post("/inbox/logout", data={"csrf": token}, headers=headers, allow_redirects=False)
    assert form.status == 403, await form.text()
    if token.isprintable():  # a control character cannot travel in a header
        header = await api.post(
            "/inbox/logout", data={}, headers={**headers, "X-CSRF-Token": token}, allow_redirects=False
        )
        assert header.status == 403, await header.text()
    assert (await visit(api, cookie, "/inbox/console")).status == 200  # still signed in


@pytest.mark.parametrize("token", TOKENS)
async def test_a_bad_sign_in_csrf_gets_403(api: TestClient, token: str) -> None:  # type: ignore[type-arg]
    await api.get("/inbox/login")  # sets the double-submit cookie
    resp = await api.post("/inbox/login", data={"key": "admin-secret", "csrf": token}, allow_redirects=False)
    assert resp.status == 403, await resp.text()
    if token.isprintable():  # a control character cannot travel in a header
        headers = {"Cookie": f"nh_login_csrf={token}"}
        resp = await api.post(
            "/inbox/login", data={"key": "admin-secret", "csrf": "x"}, headers=headers, allow_redirects=False
        )
        assert resp.status == 403, await resp.text()


@pytest.mark.parametrize("body", [b"key=\xff\xfe&csrf=\xff", b"csrf=\xc3\x28", b"\xff" * 64])
async def test_form_bodies_of_any_bytes_get_403(api: TestClient, body: bytes) -> None:  # type: ignore[type-arg]
    cookie = await sign_in(api, "admin-secret")
    for path, cookies in (("/inbox/login", "nh_login_csrf=x"), ("/inbox/logout", f"nh_session={cookie}")):
        reader, writer = await asyncio.open_connection(api.host, api.port)
        head = (
            f"POST {path} HTTP/1.1\r\nHost: x\r\nCookie: {cookies}\r\nConnection: close\r\n"
            f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        writer.write(head.encode() + body)
        status_line = await reader.readline()
        writer.close()
        await writer.wait_closed()
        assert status_line.split()[1] == b"403", (path, status_line)
    assert (await visit(api, cookie, "/inbox/console")).status == 200
