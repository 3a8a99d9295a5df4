"""Guessing the admin token or an inbox key is slowed per source address: after a burst of failures, 429."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from hub.api.app import create_app
from hub.bootstrap import Hub, build_hub
from hub.config import ServerConfig
from tests.conftest import make_config
from tests.fakes.clock import FakeClock

Client = TestClient  # type: ignore[type-arg]
MakeClient = Callable[..., Awaitable[Client]]
BURST = 10


@pytest.fixture
async def proxied(db_url: str, clock: FakeClock) -> AsyncIterator[Hub]:
    """A hub behind a trusted local proxy, so tests can speak from several addresses."""
    server = ServerConfig(
        trusted_proxies=("127.0.0.1/32",), auth_failure_burst=BURST, auth_failures_per_minute=6
    )
    wired = build_hub(make_config(db_url).model_copy(update={"server": server}), clock=clock)
    yield wired
    await wired.aclose()


@pytest.fixture
async def api(proxied: Hub, aiohttp_client: MakeClient) -> Client:
    return await aiohttp_client(create_app(proxied, run_workers=False))


def admin(token: str, address: str = "198.51.100.7") -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "X-Forwarded-For": address}


async def sign_in(api: Client, key: str, address: str = "198.51.100.7") -> Any:
    page = await api.get("/inbox/login")
    token = re.search(r'name="csrf" value="([^"]+)"', await page.text())
    assert token is not None
    form = {"key": key, "csrf": token.group(1)}
    headers = {"X-Forwarded-For": address}
    return await api.post("/inbox/login", data=form, headers=headers, allow_redirects=False)


async def test_wrong_admin_tokens_are_answered_429_after_a_burst(api: Client, clock: FakeClock) -> None:
    statuses = [(await api.get("/v1/admin/templates", headers=admin("guess"))).status for _ in range(300)]
    assert statuses[:BURST] == [401] * BURST and set(statuses[BURST:]) == {429}
    refused = await api.get("/v1/admin/templates", headers=admin("admin-secret"))  # even the right token
    assert refused.status == 429 and int(refused.headers["Retry-After"]) >= 1
    assert (await refused.json())["error"]["code"] == "too_many_attempts"
    other = await api.get("/v1/admin/templates", headers=admin("admin-secret", "203.0.113.5"))
    assert other.status == 200  # another address is not held back
    clock.advance(int(refused.headers["Retry-After"]))
    assert (await api.get("/v1/admin/templates", headers=admin("admin-secret"))).status == 200


async def test_the_right_admin_token_never_counts(api: Client) -> None:
    for _ in range(3 * BURST):
        assert (await api.get("/v1/admin/templates", headers=admin("admin-secret"))).status == 200


async def test_admin_token_guesses_on_the_audit_log_count_too(api: Client) -> None:
    statuses = [(await api.get("/v1/audit", headers=admin("guess"))).status for _ in range(BURST + 5)]
    assert statuses[:BURST] == [401] * BURST and set(statuses[BURST:]) == {429}


async def test_failed_inbox_sign_ins_are_answered_429_after_a_burst(api: Client, clock: FakeClock) -> None:
    statuses = [(await sign_in(api, "nh_guess")).status for _ in range(BURST + 20)]
    assert statuses[:BURST] == [401] * BURST and set(statuses[BURST:]) == {429}
    refused = await sign_in(api, "admin-secret")
    assert refused.status == 429 and int(refused.headers["Retry-After"]) >= 1
    assert "Слишком много неудачных попыток входа" in await refused.text()  # Russian by default
    assert (await sign_in(api, "admin-secret", "203.0.113.5")).status == 303
    clock.advance(60)
    assert (await sign_in(api, "admin-secret")).status == 303
