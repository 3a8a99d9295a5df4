"""Signing out of the inbox ends the session for every copy of its cookie, not just the browser's."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp.test_utils import TestClient

from hub.api.app import create_app
from hub.bootstrap import Hub
from tests.support.inbox_session import csrf_of, sign_in, sign_out, visit
from tests.support.scenario import new_client

MakeClient = Callable[..., Awaitable[TestClient]]  # type: ignore[type-arg]
ADMIN = {"Authorization": "Bearer admin-secret"}


async def agent_key(api: TestClient, client_id: str) -> str:  # type: ignore[type-arg]
    made = await api.post("/v1/admin/agents", json={"client_id": client_id, "name": "Marina"}, headers=ADMIN)
    key: str = (await made.json())["api_key"]
    return key


async def test_a_copied_agent_cookie_stops_working_after_logout(hub: Hub, aiohttp_client: MakeClient) -> None:
    api = await aiohttp_client(create_app(hub, run_workers=False))
    _, client = await new_client(hub)
    cookie = await sign_in(api, await agent_key(api, client.id))
    copy = str(cookie)  # e.g. taken from the agent's browser before they signed out
    assert (await visit(api, copy)).status == 200

    out = await sign_out(api, cookie, await csrf_of(api, cookie))
    assert out.status == 303 and out.headers["Location"] == "/inbox/login"
    refused = await visit(api, copy)
    assert refused.status == 303 and refused.headers["Location"].startswith("/inbox/login")
    again = await sign_out(api, copy, "whatever")  # a dead session cannot even post
    assert again.status == 303 and again.headers["Location"].startswith("/inbox/login")


async def test_logout_ends_only_its_own_session(hub: Hub, aiohttp_client: MakeClient) -> None:
    api = await aiohttp_client(create_app(hub, run_workers=False))
    _, client = await new_client(hub)
    key = await agent_key(api, client.id)
    laptop, phone = await sign_in(api, key), await sign_in(api, key)
    assert (await sign_out(api, laptop, await csrf_of(api, laptop))).status == 303
    assert (await visit(api, laptop)).status == 303
    assert (await visit(api, phone)).status == 200


async def test_operator_logout_ends_the_console_session(hub: Hub, aiohttp_client: MakeClient) -> None:
    api = await aiohttp_client(create_app(hub, run_workers=False))
    cookie = await sign_in(api, "admin-secret")
    assert (await visit(api, cookie, "/inbox/console")).status == 200
    assert (await sign_out(api, cookie, await csrf_of(api, cookie, "/inbox/console"))).status == 303
    assert (await visit(api, cookie, "/inbox/console")).status == 303
