"""Issue 8: per-client rate limits (429 + Retry-After), IP allow-lists (403), key rotation with overlap."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from hub.api.app import create_app
from hub.bootstrap import Hub, build_hub
from hub.config import SecurityConfig
from hub.ids import hash_key
from storage.models import Template
from tests.conftest import make_config
from tests.fakes.clock import FakeClock
from tests.support.scenario import new_client

MakeClient = Callable[..., Awaitable[TestClient]]  # type: ignore[type-arg]
ADMIN = {"Authorization": "Bearer admin-secret"}
TEMPLATE = {"name": "otp", "text": "#code# – ваш код", "category": "otp"}


def auth(key: str, **headers: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}", **headers}


async def error_of(resp: Any, status: int) -> str:
    assert resp.status == status, await resp.text()
    body = await resp.json()
    assert set(body["error"]) == {"code", "message"} and body["error"]["message"]
    return str(body["error"]["code"])


@pytest.fixture
async def strict_hub(db_url: str, clock: FakeClock) -> AsyncIterator[Hub]:
    """A hub allowing 3 requests at once and one every 2 seconds per client, behind a proxy at 127.0.0.1."""
    base = make_config(db_url)
    config = base.model_copy(
        update={
            "security": SecurityConfig(rate_limit_per_second=0.5, rate_limit_burst=3),
            "server": base.server.model_copy(update={"trusted_proxies": ("127.0.0.1/32",)}),
        }
    )
    wired = build_hub(config, clock=clock)
    yield wired
    await wired.aclose()


@pytest.fixture
async def api(strict_hub: Hub, aiohttp_client: MakeClient) -> TestClient:  # type: ignore[type-arg]
    return await aiohttp_client(create_app(strict_hub, run_workers=False))


async def templates(hub: Hub) -> int:
    async with hub.uow() as uow:
        stmt = select(func.count()).select_from(Template)
        return int((await uow.templates._session.execute(stmt)).scalar_one())


async def test_burst_then_429_with_retry_after_other_client_unaffected_then_recovered(
    strict_hub: Hub,
    clock: FakeClock,
    api: TestClient,  # type: ignore[type-arg]
) -> None:
    a, _ = await new_client(strict_hub, "A")
    b, _ = await new_client(strict_hub, "B")
    for _ in range(3):
        assert (await api.get("/v1/templates", headers=auth(a.api_key))).status == 200
    refused = await api.post("/v1/templates", json=TEMPLATE, headers=auth(a.api_key))
    assert await error_of(refused, 429) == "rate_limited"
    assert refused.headers["Retry-After"] == "2"
    assert await templates(strict_hub) == 0  # refused before the handler: nothing written
    assert (await api.get("/v1/templates", headers=auth(b.api_key))).status == 200
    for path in ("/healthz", "/metrics", "/openapi.json"):  # not client-key routes
        assert (await api.get(path, headers=auth(a.api_key))).status == 200
    clock.advance(int(refused.headers["Retry-After"]))
    assert (await api.post("/v1/templates", json=TEMPLATE, headers=auth(a.api_key))).status == 201
    assert (await api.get("/v1/templates", headers=auth(a.api_key))).status == 429


async def test_batch_counts_once_and_per_client_override(
    strict_hub: Hub,
    clock: FakeClock,
    api: TestClient,  # type: ignore[type-arg]
) -> None:
    a, client = await new_client(strict_hub, "A")
    batch = {"items": [{"to": {"phone": "+79990000001"}, "template_id": "tpl_x"}] * 5}
    resp = await api.post("/v1/notify/batch", json=batch, headers=auth(a.api_key))
    assert resp.status == 202 and (await resp.json())["rejected"] == 5  # five items, one request
    patch = {"rate_limit": {"per_second": 10, "burst": 1}}
    changed = await api.patch(f"/v1/admin/clients/{client.id}", json=patch, headers=ADMIN)
    assert changed.status == 200 and (await changed.json())["rate_limit"] == {"per_second": 10.0, "burst": 1}
    assert (await api.get("/v1/templates", headers=auth(a.api_key))).status == 200
    refused = await api.get("/v1/templates", headers=auth(a.api_key))
    assert refused.status == 429 and refused.headers["Retry-After"] == "1"
    clock.advance(0.2)
    assert (await api.get("/v1/templates", headers=auth(a.api_key))).status == 200
    back = await api.patch(f"/v1/admin/clients/{client.id}", json={"rate_limit": None}, headers=ADMIN)
    assert (await back.json())["rate_limit"] is None


async def test_allow_list_refuses_other_addresses_and_writes_nothing(
    strict_hub: Hub,
    api: TestClient,  # type: ignore[type-arg]
) -> None:
    a, client = await new_client(strict_hub, "A")
    made = await api.post("/v1/admin/agents", json={"client_id": client.id, "name": "Marina"}, headers=ADMIN)
    agent_key = (await made.json())["api_key"]
    url = f"/v1/admin/clients/{client.id}"
    resp = await api.patch(url, json={"ip_allowlist": ["203.0.113.0/24"]}, headers=ADMIN)
    assert (await resp.json())["ip_allowlist"] == ["203.0.113.0/24"]
    refused = await api.post("/v1/templates", json=TEMPLATE, headers=auth(a.api_key))
    assert await error_of(refused, 403) == "ip_not_allowed"
    assert await error_of(await api.get("/v1/threads", headers=auth(agent_key)), 403) == "ip_not_allowed"
    assert await templates(strict_hub) == 0
    await api.patch(url, json={"ip_allowlist": ["127.0.0.1"]}, headers=ADMIN)
    assert (await api.post("/v1/templates", json=TEMPLATE, headers=auth(a.api_key))).status == 201
    await api.patch(url, json={"ip_allowlist": []}, headers=ADMIN)  # empty: any address
    assert (await api.get("/v1/threads", headers=auth(agent_key))).status == 200
    bad = await api.patch(url, json={"ip_allowlist": ["nope"]}, headers=ADMIN)
    assert await error_of(bad, 422) == "invalid_field"


async def test_forwarded_for_believed_only_from_a_trusted_proxy(
    strict_hub: Hub,
    api: TestClient,
    aiohttp_client: MakeClient,  # type: ignore[type-arg]
) -> None:
    a, client = await new_client(strict_hub, "A")
    await api.patch(
        f"/v1/admin/clients/{client.id}", json={"ip_allowlist": ["203.0.113.0/24"]}, headers=ADMIN
    )
    via_proxy = auth(a.api_key, **{"X-Forwarded-For": "198.51.100.1, 203.0.113.7"})
    assert (await api.get("/v1/templates", headers=via_proxy)).status == 200
    spoofed = auth(a.api_key, **{"X-Forwarded-For": "203.0.113.7, 198.51.100.1"})
    assert await error_of(await api.get("/v1/templates", headers=spoofed), 403) == "ip_not_allowed"
    untrusting = build_hub(make_config(str(strict_hub.config.database.url)), clock=FakeClock())
    try:  # the default configuration trusts no proxy: the header is ignored
        direct = await aiohttp_client(create_app(untrusting, run_workers=False))
        assert (await direct.get("/v1/templates", headers=via_proxy)).status == 403
    finally:
        await untrusting.aclose()


async def inbox_sign_in(api: Any, key: str, **headers: str) -> Any:
    """The inbox sign-in form posted with `key` (and its CSRF token); the answer, not followed."""
    page = await api.get("/inbox/login")
    token = re.search(r'name="csrf" value="([^"]+)"', await page.text())
    assert token is not None
    form = {"key": key, "csrf": token.group(1)}
    return await api.post("/inbox/login", data=form, headers=headers, allow_redirects=False)


async def test_inbox_sign_in_is_held_to_the_allow_list(
    strict_hub: Hub,
    api: TestClient,  # type: ignore[type-arg]
) -> None:
    _, client = await new_client(strict_hub, "A")
    made = await api.post("/v1/admin/agents", json={"client_id": client.id, "name": "Marina"}, headers=ADMIN)
    agent_key = (await made.json())["api_key"]
    await api.patch(
        f"/v1/admin/clients/{client.id}", json={"ip_allowlist": ["203.0.113.0/24"]}, headers=ADMIN
    )

    assert (await inbox_sign_in(api, agent_key)).status == 403
    assert (await inbox_sign_in(api, agent_key, **{"X-Forwarded-For": "203.0.113.9"})).status == 303


async def test_inbox_session_ends_when_its_key_is_revoked_or_its_address_refused(
    strict_hub: Hub,
    api: TestClient,  # type: ignore[type-arg]
) -> None:
    _, client = await new_client(strict_hub, "A")
    made = await api.post("/v1/admin/agents", json={"client_id": client.id, "name": "Marina"}, headers=ADMIN)
    agent_key = (await made.json())["api_key"]

    signed_in = await inbox_sign_in(api, agent_key)
    assert signed_in.status == 303
    cookie = signed_in.cookies["nh_session"].value  # the test client keeps no Secure cookie over http

    async def threads_page() -> int:
        headers = {"Cookie": f"nh_session={cookie}"}
        return (await api.get("/inbox/threads", headers=headers, allow_redirects=False)).status

    assert await threads_page() == 200
    allow = {"ip_allowlist": ["203.0.113.0/24"]}  # the agent's address (loopback) is no longer allowed
    assert (await api.patch(f"/v1/admin/clients/{client.id}", json=allow, headers=ADMIN)).status == 200
    assert await threads_page() == 303  # back to sign-in, with the same cookie
    assert (
        await api.patch(f"/v1/admin/clients/{client.id}", json={"ip_allowlist": []}, headers=ADMIN)
    ).status == 200
    assert await threads_page() == 200
    async with strict_hub.uow() as uow:
        found = await uow.clients.principal(hash_key(agent_key), strict_hub.clock.now())
    assert found is not None
    key_id = found[1].id
    assert (await api.delete(f"/v1/admin/keys/{key_id}", headers=ADMIN)).status in (200, 204)
    assert await threads_page() == 303


async def test_rotation_overlap_then_expiry_and_revocation(
    strict_hub: Hub,
    clock: FakeClock,
    api: TestClient,  # type: ignore[type-arg]
) -> None:
    a, client = await new_client(strict_hub, "A")
    roomy = {"rate_limit": {"per_second": 100, "burst": 100}}
    assert (await api.patch(f"/v1/admin/clients/{client.id}", json=roomy, headers=ADMIN)).status == 200
    old = a.api_key
    resp = await api.post("/v1/keys/rotate", json={"overlap_hours": 1}, headers=auth(old))
    assert resp.status == 201, await resp.text()
    rotated = await resp.json()
    new = rotated["api_key"]
    assert new.startswith("nh_") and new != old and rotated["key"]["prefix"] == new[:10]
    assert rotated["old_key"]["active"] and rotated["old_key"]["expires_at"]
    for key in (old, new):
        assert (await api.get("/v1/templates", headers=auth(key))).status == 200
    listing = await api.get("/v1/keys", headers=auth(new))
    text = await listing.text()
    assert old not in text and new not in text and "hash" not in text
    views = {k["id"]: k for k in (await listing.json())["keys"]}
    assert len(views) == 2 and all(
        {"prefix", "name", "created_at", "expires_at"} <= set(v) for v in views.values()
    )
    clock.advance(3601)
    assert await error_of(await api.get("/v1/templates", headers=auth(old)), 401) == "unauthorized"
    assert (await api.get("/v1/templates", headers=auth(new))).status == 200
    revoked = await api.delete(f"/v1/keys/{rotated['key']['id']}", headers=auth(new))
    assert revoked.status == 200 and (await revoked.json())["active"] is False
    assert await error_of(await api.get("/v1/templates", headers=auth(new)), 401) == "unauthorized"


async def test_admin_rotation_and_revocation_and_agent_limits(
    strict_hub: Hub,
    api: TestClient,  # type: ignore[type-arg]
) -> None:
    a, client = await new_client(strict_hub, "A")
    b, _ = await new_client(strict_hub, "B")
    made = await api.post("/v1/admin/agents", json={"client_id": client.id, "name": "Marina"}, headers=ADMIN)
    agent_key = (await made.json())["api_key"]
    assert await error_of(await api.post("/v1/keys/rotate", headers=auth(agent_key)), 403) == "forbidden"
    keys = (await (await api.get(f"/v1/admin/clients/{client.id}/keys", headers=ADMIN)).json())["keys"]
    agent = next(k for k in keys if k["role"] == "agent")
    assert agent["name"] == "Marina" and agent["prefix"] == agent_key[:10]
    # another client cannot touch this client's keys
    assert (
        await error_of(await api.delete(f"/v1/keys/{agent['id']}", headers=auth(b.api_key)), 404)
        == "key_not_found"
    )
    resp = await api.post(f"/v1/admin/keys/{agent['id']}/rotate", json={"overlap_hours": 0}, headers=ADMIN)
    assert resp.status == 201
    new_agent = (await resp.json())["api_key"]
    assert (await api.get("/v1/threads", headers=auth(agent_key))).status == 401  # no overlap asked
    assert (await api.get("/v1/threads", headers=auth(new_agent))).status == 200
    client_key = next(k for k in keys if k["role"] == "client")
    assert (await api.delete(f"/v1/admin/keys/{client_key['id']}", headers=ADMIN)).status == 200
    assert (await api.get("/v1/threads", headers=auth(a.api_key))).status == 401
    assert (
        await error_of(await api.delete(f"/v1/admin/keys/{client_key['id']}", headers=ADMIN), 409)
        == "key_inactive"
    )
    issued = await api.post(
        f"/v1/admin/clients/{client.id}/keys", json={"name": "after revoke"}, headers=ADMIN
    )
    assert issued.status == 201
    assert (await api.get("/v1/templates", headers=auth((await issued.json())["api_key"]))).status == 200
