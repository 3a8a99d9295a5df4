"""Hostile input to the /v1 API is answered 4xx with the error body, never 500, on both databases."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from hub.api.app import create_app
from hub.bootstrap import Hub, build_hub
from tests.conftest import make_config
from tests.fakes.postgres import ShuttingDownPostgres
from tests.support.scenario import approved_template, new_client

Client = TestClient  # type: ignore[type-arg]
MakeClient = Callable[..., Awaitable[Client]]
ADMIN = {"Authorization": "Bearer admin-secret"}
JSON = {"Content-Type": "application/json"}


@pytest.fixture
async def api(hub: Hub, aiohttp_client: MakeClient) -> Client:
    return await aiohttp_client(create_app(hub, run_workers=False))


@pytest.fixture
async def key(hub: Hub) -> dict[str, str]:
    created, _ = await new_client(hub)
    return {"Authorization": f"Bearer {created.api_key}"}


async def refused(resp: Any, *statuses: int) -> str:
    """The answer is one of the given 4xx statuses with `{error: {code, message}}`."""
    assert resp.status in statuses, (resp.status, await resp.text())
    body = await resp.json()
    assert set(body["error"]) == {"code", "message"} and body["error"]["message"]
    return str(body["error"]["code"])


def item(template_id: str, **kw: Any) -> dict[str, Any]:
    body = {
        "to": {"phone": "+79990000001"},
        "template_id": template_id,
        "params": {"name": "Анна", "order": "77031"},
        "action_at": datetime.now(UTC).isoformat(),
    }
    return body | kw


@pytest.mark.parametrize(
    "target",
    [
        "/v1/templates?status=%00",
        "/v1/templates/tpl%00x",
        "/v1/threads?assignee=%00",
        "/v1/webhooks/deliveries?status=a%00b",
        "/v1/contacts/%2B7999%000000001",
        "/v1/threads?cursor=1%7Cthr%00",
    ],
)
async def test_nul_in_the_path_or_query_is_400(api: Client, key: dict[str, str], target: str) -> None:
    assert await refused(await api.get(target, headers=key), 400) == "invalid_text"


@pytest.mark.parametrize(
    "target",
    [
        "/v1/audit?cursor=3000000000",
        "/v1/audit?limit=99999999999999999999999999",
        "/v1/webhooks/deliveries?before=99999999999999999999999999",
        "/v1/webhooks/deliveries?before=-99999999999999999999999999",
        "/v1/webhooks/deliveries?limit=1e400",
        "/v1/threads?cursor=1e400%7Cthr_x",
        "/v1/threads?cursor=nan%7Cthr_x",
        "/v1/threads?updated_since=0001-01-01T00:00:00",
        "/v1/audit?since=0001-01-01T00:00:00",
    ],
)
async def test_numbers_past_their_range_are_422(api: Client, key: dict[str, str], target: str) -> None:
    assert await refused(await api.get(target, headers=key), 422) == "invalid_field"


@pytest.mark.parametrize(
    "raw",
    [
        b'{"name": "a\\u0000b", "text": "t", "category": "service"}',
        b'{"name": "\\ud800", "text": "t", "category": "service"}',
        b'{"name": "x", "text": "t\\udfff", "category": "service"}',
        b'{"name": "x", "text": "t", "category": "service", "\\u0000": 1}',
    ],
)
async def test_nul_or_lone_surrogate_in_a_body_is_422(api: Client, key: dict[str, str], raw: bytes) -> None:
    resp = await api.post("/v1/templates", data=raw, headers=key | JSON)
    assert await refused(resp, 422) == "invalid_text"


@pytest.mark.parametrize("connection", ["1" + "0" * 30, "%C2%B2", "3000000000"])
async def test_a_connection_id_out_of_range_is_not_found(api: Client, connection: str) -> None:
    resp = await api.delete(f"/v1/admin/connections/{connection}", headers=ADMIN)
    assert await refused(resp, 404) == "connection_not_found"


async def test_nul_in_an_admin_body_is_422(api: Client) -> None:
    resp = await api.post("/v1/admin/clients", json={"name": "Shop\u0000"}, headers=ADMIN)
    assert await refused(resp, 422) == "invalid_text"


@pytest.mark.parametrize("depth", [100, 100_000])
async def test_deeply_nested_json_is_400(api: Client, key: dict[str, str], depth: int) -> None:
    raw = b'{"name": ' + b"[" * depth + b"]" * depth + b', "text": "t", "category": "otp"}'
    resp = await api.post("/v1/templates", data=raw, headers=key | JSON)
    assert await refused(resp, 400) == "malformed_json"


@pytest.mark.parametrize(
    ("action_at", "code"),
    [
        ("0001-01-01T00:00:00", "invalid_field"),
        ("0001-01-01T00:00:00+14:00", "invalid_field"),
        ("1969-12-31T23:59:59Z", "invalid_field"),
        ("9999-12-31T23:59:59-14:00", "action_in_future"),
    ],
)
async def test_unrepresentable_action_at_is_422(
    hub: Hub, api: Client, key: dict[str, str], action_at: str, code: str
) -> None:
    async with hub.uow() as uow:
        client = (await uow.clients.list())[0]
    template = await approved_template(hub, client.id)
    resp = await api.post("/v1/notify", json=item(template.id, action_at=action_at), headers=key)
    assert await refused(resp, 422) == code


async def test_bad_batch_items_get_their_own_errors(hub: Hub, api: Client, key: dict[str, str]) -> None:
    async with hub.uow() as uow:
        client = (await uow.clients.list())[0]
    tid = (await approved_template(hub, client.id)).id
    items: list[Any] = [
        item(tid),
        "not an object",
        item(tid, params={"name": "Ан\u0000на", "order": "1"}),
        None,
        item(tid, to={"phone": "+79990000002"}),
        item(tid, reference="LONE SURROGATE"),
        [item(tid)],
        item(tid, action_at="0001-01-01T00:00:00"),
    ]
    raw = json.dumps({"items": items}).encode().replace(b'"LONE SURROGATE"', b'"\\ud800"')
    resp = await api.post("/v1/notify/batch", data=raw, headers=key | JSON)
    assert resp.status == 202, await resp.text()
    body = await resp.json()
    assert (body["accepted"], body["rejected"]) == (2, 6)
    codes = [r.get("error", {}).get("code") for r in body["results"]]
    invalid = ["invalid_item", "invalid_text", "invalid_item"]
    assert codes == [None, *invalid, None, "invalid_text", "invalid_item", "invalid_field"]
    assert [r["index"] for r in body["results"]] == list(range(8))


async def test_method_not_allowed_names_the_allowed_ones(api: Client, key: dict[str, str]) -> None:
    resp = await api.put("/v1/notify", json={}, headers=key)
    assert await refused(resp, 405) == "method_not_allowed"
    assert resp.headers["Allow"] == "POST"
    resp = await api.delete("/v1/templates", headers=key)
    assert await refused(resp, 405) == "method_not_allowed"
    assert set(resp.headers["Allow"].split(",")) >= {"GET", "POST"}


async def test_header_bytes_that_are_not_utf8_are_refused(api: Client) -> None:
    reader, writer = await asyncio.open_connection(api.host, api.port)
    writer.write(b"GET /v1/templates HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer nh_\xff\xfe\r\n\r\n")
    status = (await reader.readline()).split()[1]
    writer.close()
    assert status in (b"400", b"401")


async def test_healthz_is_503_while_the_database_shuts_down(aiohttp_client: MakeClient) -> None:
    async with ShuttingDownPostgres() as postgres:
        hub = build_hub(make_config(postgres.url))
        try:
            api = await aiohttp_client(create_app(hub, run_workers=False))
            resp = await api.get("/healthz")
            assert await refused(resp, 503) == "unavailable"
            assert resp.headers["Retry-After"]
            resp = await api.get("/v1/templates", headers={"Authorization": "Bearer nh_x"})
            assert await refused(resp, 503) == "unavailable"
        finally:
            await hub.aclose()
        assert postgres.refused >= 2
