"""A rotated-away key does ordinary work during its overlap, but manages no keys; overlaps are validated."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from hub.api.app import create_app
from hub.bootstrap import Hub
from tests.fakes.clock import FakeClock
from tests.support.scenario import new_client

MakeClient = Callable[..., Awaitable[TestClient]]  # type: ignore[type-arg]
ADMIN = {"Authorization": "Bearer admin-secret"}


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def error_of(resp: Any, status: int) -> dict[str, str]:
    assert resp.status == status, await resp.text()
    error: dict[str, str] = (await resp.json())["error"]
    assert set(error) == {"code", "message"} and error["message"]
    return error


@pytest.fixture
async def api(hub: Hub, aiohttp_client: MakeClient) -> TestClient:  # type: ignore[type-arg]
    return await aiohttp_client(create_app(hub, run_workers=False))


async def keys_of(api: TestClient, client_id: str) -> list[dict[str, Any]]:  # type: ignore[type-arg]
    resp = await api.get(f"/v1/admin/clients/{client_id}/keys", headers=ADMIN)
    keys: list[dict[str, Any]] = (await resp.json())["keys"]
    return keys


async def test_rotated_away_key_can_neither_rotate_again_nor_revoke_the_new_key(
    hub: Hub,
    clock: FakeClock,
    api: TestClient,  # type: ignore[type-arg]
) -> None:
    created, client = await new_client(hub, "A")
    old = created.api_key
    resp = await api.post("/v1/keys/rotate", json={"overlap_hours": 720}, headers=auth(old))
    assert resp.status == 201, await resp.text()
    rotated = await resp.json()
    new, new_id = rotated["api_key"], rotated["key"]["id"]

    again = await api.post("/v1/keys/rotate", json={"overlap_hours": 720}, headers=auth(old))
    assert (await error_of(again, 403))["code"] == "key_rotated_away"
    revoke = await error_of(await api.delete(f"/v1/keys/{new_id}", headers=auth(old)), 403)
    assert revoke["code"] == "key_rotated_away"
    assert len(await keys_of(api, client.id)) == 2  # no third key, and the new one is still live
    assert (await api.get("/v1/templates", headers=auth(new))).status == 200

    # ordinary work goes on with the old key until its overlap ends
    assert (await api.get("/v1/templates", headers=auth(old))).status == 200
    assert (await api.get("/v1/keys", headers=auth(old))).status == 200
    clock.advance(720 * 3600 + 1)
    assert (await api.get("/v1/templates", headers=auth(old))).status == 401
    assert (await api.get("/v1/templates", headers=auth(new))).status == 200


async def test_current_key_may_cut_the_overlap_short(
    hub: Hub,
    api: TestClient,  # type: ignore[type-arg]
) -> None:
    created, _ = await new_client(hub, "A")
    old = created.api_key
    rotated = await (await api.post("/v1/keys/rotate", json={"overlap_hours": 24}, headers=auth(old))).json()
    new = rotated["api_key"]
    assert (await api.delete(f"/v1/keys/{rotated['old_key']['id']}", headers=auth(new))).status == 200
    assert (await api.get("/v1/templates", headers=auth(old))).status == 401
    again = await api.post("/v1/keys/rotate", json={"overlap_hours": 1}, headers=auth(new))
    assert again.status == 201  # the current key rotates as often as it likes


async def test_a_key_is_rotated_once_even_by_the_operator(
    hub: Hub,
    api: TestClient,  # type: ignore[type-arg]
) -> None:
    _, client = await new_client(hub, "A")
    [key] = await keys_of(api, client.id)
    first = await api.post(f"/v1/admin/keys/{key['id']}/rotate", json={"overlap_hours": 720}, headers=ADMIN)
    assert first.status == 201
    second = await api.post(f"/v1/admin/keys/{key['id']}/rotate", json={"overlap_hours": 720}, headers=ADMIN)
    assert (await error_of(second, 409))["code"] == "key_already_rotated"
    assert len(await keys_of(api, client.id)) == 2
    assert (await api.delete(f"/v1/admin/keys/{key['id']}", headers=ADMIN)).status == 200


@pytest.mark.parametrize("overlap", [False, True, "24", "", -1, -0.5, 720.5, 721, 100000, [24], {"h": 24}])
async def test_overlap_hours_must_be_a_number_from_0_to_720(
    hub: Hub,
    api: TestClient,  # type: ignore[type-arg]
    overlap: Any,
) -> None:
    created, client = await new_client(hub, "A")
    [key] = await keys_of(api, client.id)
    body = {"overlap_hours": overlap}
    for resp in (
        await api.post("/v1/keys/rotate", json=body, headers=auth(created.api_key)),
        await api.post(f"/v1/admin/keys/{key['id']}/rotate", json=body, headers=ADMIN),
    ):
        error = await error_of(resp, 422)
        assert error["code"] == "invalid_field" and error["message"].startswith("overlap_hours")
    assert len(await keys_of(api, client.id)) == 1  # nothing rotated


async def test_overlap_hours_accepts_integers_fractions_and_null(
    hub: Hub,
    api: TestClient,  # type: ignore[type-arg]
) -> None:
    created, _ = await new_client(hub, "A")
    key = created.api_key
    for overlap in (0.5, 720, None):
        resp = await api.post("/v1/keys/rotate", json={"overlap_hours": overlap}, headers=auth(key))
        assert resp.status == 201, await resp.text()
        key = (await resp.json())["api_key"]


async def test_rotated_away_key_cannot_manage_webhooks_whose_secrets_it_would_see(
    hub: Hub,
    clock: FakeClock,
    api: TestClient,  # type: ignore[type-arg]
) -> None:
    created, _ = await new_client(hub, "A")
    old = created.api_key
    made = await api.post("/v1/webhooks", json={"url": "http://127.0.0.1:9/hook"}, headers=auth(old))
    assert made.status == 201, await made.text()
    endpoint = (await made.json())["id"]
    rotated = await (await api.post("/v1/keys/rotate", json={"overlap_hours": 24}, headers=auth(old))).json()
    for attempt in (
        api.post("/v1/webhooks", json={"url": "http://127.0.0.1:9/other"}, headers=auth(old)),
        api.post(f"/v1/webhooks/{endpoint}/rotate", headers=auth(old)),
        api.delete(f"/v1/webhooks/{endpoint}", headers=auth(old)),
    ):
        assert (await error_of(await attempt, 403))["code"] == "key_rotated_away"
    assert (await api.get("/v1/webhooks", headers=auth(old))).status == 200  # ordinary reading still works
    fresh = await api.post(f"/v1/webhooks/{endpoint}/rotate", headers=auth(rotated["api_key"]))
    assert fresh.status == 200, await fresh.text()
