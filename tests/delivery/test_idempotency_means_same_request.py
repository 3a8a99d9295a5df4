"""An idempotency key names one request: a retry gets the first notification, a different request 409."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from hub.api.app import create_app
from hub.bootstrap import Hub
from storage.models import Notification
from tests.support.scenario import approved_template, new_client

Client = TestClient  # type: ignore[type-arg]
MakeClient = Callable[..., Awaitable[Client]]
NOW = datetime.now(UTC).isoformat()


@pytest.fixture
async def api(hub: Hub, aiohttp_client: MakeClient) -> Client:
    return await aiohttp_client(create_app(hub, run_workers=False))


@pytest.fixture
async def shop(hub: Hub) -> tuple[dict[str, str], str, str]:
    """The client's auth header and two approved templates."""
    created, client = await new_client(hub)
    first = await approved_template(hub, client.id, "Заказ #order# доставлен.", name="a")
    second = await approved_template(hub, client.id, "Заказ #order# в пути.", name="b")
    return {"Authorization": f"Bearer {created.api_key}"}, first.id, second.id


def item(template_id: str, **kw: Any) -> dict[str, Any]:
    body = {"to": {"phone": "+79990000001"}, "template_id": template_id, "params": {"order": "1"}}
    return body | {"action_at": NOW} | kw


async def notifications(hub: Hub) -> int:
    async with hub.uow() as uow:
        stmt = select(func.count()).select_from(Notification)
        return int((await uow.notifications._session.execute(stmt)).scalar_one())


@pytest.mark.parametrize(
    "change",
    [
        {"to": {"phone": "+79990000002"}},
        {"params": {"order": "2"}},
        {"template": "second"},
        {"reference": "order-2"},
        {"route": [{"channel": "sms"}]},
    ],
)
async def test_the_same_key_for_another_request_is_409(
    hub: Hub, api: Client, shop: tuple[dict[str, str], str, str], change: dict[str, Any]
) -> None:
    auth, tid, other = shop
    assert (await api.post("/v1/notify", json=item(tid, idempotency_key="k1"), headers=auth)).status == 202
    fields = {k: v for k, v in change.items() if k != "template"}
    changed = item(other if "template" in change else tid, idempotency_key="k1", **fields)
    resp = await api.post("/v1/notify", json=changed, headers=auth)
    assert resp.status == 409, await resp.text()
    assert (await resp.json())["error"]["code"] == "idempotency_conflict"
    assert await notifications(hub) == 1


async def test_the_header_is_the_body_field_and_a_retry_gets_the_first(
    hub: Hub, api: Client, shop: tuple[dict[str, str], str, str]
) -> None:
    auth, tid, _ = shop
    first = await api.post("/v1/notify", json=item(tid), headers=auth | {"Idempotency-Key": "k1"})
    assert first.status == 202
    by_body = await api.post("/v1/notify", json=item(tid, idempotency_key="k1"), headers=auth)
    assert by_body.status == 200 and (await by_body.json())["id"] == (await first.json())["id"]
    both = await api.post(
        "/v1/notify", json=item(tid, idempotency_key="k1"), headers=auth | {"Idempotency-Key": "k1"}
    )
    assert both.status == 200
    same_number = item(tid, to={"phone": "8 (999) 000-00-01"})  # the same request, written differently
    again = await api.post("/v1/notify", json=same_number, headers=auth | {"Idempotency-Key": "k1"})
    assert again.status == 200 and (await again.json())["duplicate"]
    other = item(tid, to={"phone": "+79990000002"})
    resp = await api.post("/v1/notify", json=other, headers=auth | {"Idempotency-Key": "k1"})
    assert resp.status == 409 and (await resp.json())["error"]["code"] == "idempotency_conflict"
    assert await notifications(hub) == 1


async def test_header_and_body_keys_that_differ_are_422(
    hub: Hub, api: Client, shop: tuple[dict[str, str], str, str]
) -> None:
    auth, tid, _ = shop
    resp = await api.post(
        "/v1/notify", json=item(tid, idempotency_key="k1"), headers=auth | {"Idempotency-Key": "k2"}
    )
    assert resp.status == 422 and (await resp.json())["error"]["code"] == "idempotency_key_mismatch"
    too_long = await api.post("/v1/notify", json=item(tid), headers=auth | {"Idempotency-Key": "k" * 201})
    assert too_long.status == 422
    assert await notifications(hub) == 0


async def test_batch_items_with_one_key_must_be_one_request(
    hub: Hub, api: Client, shop: tuple[dict[str, str], str, str]
) -> None:
    auth, tid, _ = shop
    assert (await api.post("/v1/notify", json=item(tid, idempotency_key="old"), headers=auth)).status == 202
    items = [
        item(tid, idempotency_key="k1"),
        item(tid, idempotency_key="k1"),
        item(tid, idempotency_key="k1", to={"phone": "+79990000002"}),
        item(tid, idempotency_key="old"),
        item(tid, idempotency_key="old", params={"order": "2"}),
    ]
    resp = await api.post("/v1/notify/batch", json={"items": items}, headers=auth)
    assert resp.status == 202
    results = (await resp.json())["results"]
    codes = [r.get("error", {}).get("code") for r in results]
    assert codes == [None, None, "idempotency_conflict", None, "idempotency_conflict"]
    assert results[1]["id"] == results[0]["id"] and results[1]["duplicate"]
    assert results[3]["duplicate"]
    assert await notifications(hub) == 2


async def test_a_batch_refuses_the_header(
    hub: Hub, api: Client, shop: tuple[dict[str, str], str, str]
) -> None:
    auth, tid, _ = shop
    resp = await api.post(
        "/v1/notify/batch", json={"items": [item(tid)]}, headers=auth | {"Idempotency-Key": "k1"}
    )
    assert resp.status == 422 and (await resp.json())["error"]["code"] == "idempotency_key_unsupported"
    assert await notifications(hub) == 0
