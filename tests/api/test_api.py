"""The HTTP API as clients script against it: shapes, status codes, and bad input refused cleanly."""

from __future__ import annotations

import io
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select
from sqlalchemy.exc import TimeoutError as SQLAlchemyTimeout

from hub.api.app import create_app
from hub.bootstrap import Hub
from storage.models import Contact, Leg, Notification, OutboxItem
from tests.support.scenario import approved_template, new_client

Client = TestClient  # type: ignore[type-arg]
MakeClient = Callable[..., Awaitable[Client]]
NOW = datetime.now(UTC).isoformat()


@pytest.fixture
async def api(hub: Hub, aiohttp_client: MakeClient) -> Client:
    return await aiohttp_client(create_app(hub, run_workers=False))


@pytest.fixture
async def key(hub: Hub) -> str:
    created, _ = await new_client(hub)
    return created.api_key


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def error_of(resp: Any, status: int) -> str:
    assert resp.status == status, await resp.text()
    body = await resp.json()
    assert set(body["error"]) == {"code", "message"} and body["error"]["message"]
    return str(body["error"]["code"])


async def count(hub: Hub, model: Any) -> int:
    async with hub.uow() as uow:
        return int(
            (await uow.notifications._session.execute(select(func.count()).select_from(model))).scalar_one()
        )


async def template_id(hub: Hub, api: Client, key: str) -> str:
    async with hub.uow() as uow:
        client = (await uow.clients.list())[0]
    return (await approved_template(hub, client.id, "Заказ #order# доставлен.")).id


def item(tid: str, **kw: Any) -> dict[str, Any]:
    body = {
        "to": {"phone": "+79990000001"},
        "template_id": tid,
        "params": {"order": "77031"},
        "action_at": NOW,
    }
    body.update(kw)
    return body


async def test_health_and_openapi(api: Client) -> None:
    assert (await api.get("/healthz")).status == 200
    doc = await (await api.get("/openapi.json")).json()
    assert {"/v1/templates", "/v1/notify", "/v1/notify/batch", "/v1/notifications/{id}"} <= set(doc["paths"])
    assert "NotifyIn" in doc["components"]["schemas"]


async def test_missing_or_wrong_key_is_401(api: Client) -> None:
    assert await error_of(await api.post("/v1/notify", json={}), 401) == "unauthorized"
    assert (
        await error_of(await api.post("/v1/notify", json={}, headers=auth("nh_wrong")), 401) == "unauthorized"
    )


async def test_template_submission_and_moderation(api: Client, key: str) -> None:
    resp = await api.post(
        "/v1/templates",
        json={"name": "otp", "text": "#code# – ваш код", "category": "otp"},
        headers=auth(key),
    )
    assert resp.status == 201
    created = await resp.json()
    assert created["status"] == "pending" and created["placeholders"] == ["code"]
    got = await (await api.get(f"/v1/templates/{created['id']}", headers=auth(key))).json()
    assert got["id"] == created["id"]
    empty = await (
        await api.post(
            "/v1/templates", json={"name": "e", "text": " ", "category": "service"}, headers=auth(key)
        )
    ).json()
    assert empty["status"] == "rejected" and "empty" in empty["reason"]
    admin = {"Authorization": "Bearer admin-secret"}
    resp = await api.post(
        f"/v1/admin/templates/{created['id']}/decision", json={"status": "approved"}, headers=admin
    )
    assert (await resp.json())["status"] == "approved"
    resp = await api.post(
        f"/v1/admin/templates/{created['id']}/decision", json={"status": "rejected"}, headers=admin
    )
    assert await error_of(resp, 422) == "invalid_field"
    resp = await api.post(
        f"/v1/admin/templates/{created['id']}/decision", json={"status": "approved"}, headers=auth(key)
    )
    assert await error_of(resp, 401) == "unauthorized"


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"name": "x", "text": "t", "category": "service", "colour": "red"}, "unknown_field"),
        ({"name": "x", "text": 5, "category": "service"}, "invalid_field"),
        ({"name": "x", "text": "t", "category": "spam"}, "invalid_field"),
        ({"text": "t", "category": "service"}, "missing_field"),
    ],
)
async def test_bad_template_bodies(api: Client, key: str, body: dict[str, Any], code: str) -> None:
    assert await error_of(await api.post("/v1/templates", json=body, headers=auth(key)), 422) == code


async def test_notify_then_read_back(hub: Hub, api: Client, key: str) -> None:
    tid = await template_id(hub, api, key)
    resp = await api.post("/v1/notify", json=item(tid, reference="order-77031"), headers=auth(key))
    assert resp.status == 202
    accepted = await resp.json()
    assert accepted["status"] == "queued"
    view = await (await api.get(f"/v1/notifications/{accepted['id']}", headers=auth(key))).json()
    assert view["text"] == "Заказ 77031 доставлен."
    assert [(leg["channel"], leg["ttl"], leg["status"]) for leg in view["legs"]] == [
        ("vk", 3600, "queued"),
        ("sms", None, "queued"),
    ]
    assert (
        view["cost"] == 0 and view["events"][0]["kind"] == "accepted" and view["reference"] == "order-77031"
    )


async def test_idempotency_key_never_sends_twice(hub: Hub, api: Client, key: str) -> None:
    tid = await template_id(hub, api, key)
    first = await (
        await api.post("/v1/notify", json=item(tid, idempotency_key="k1"), headers=auth(key))
    ).json()
    again = await api.post("/v1/notify", json=item(tid, idempotency_key="k1"), headers=auth(key))
    assert again.status == 200
    assert (await again.json()) == {"id": first["id"], "status": "queued", "duplicate": True}
    batch = {
        "items": [
            item(tid, idempotency_key="k1"),
            item(tid, idempotency_key="k2"),
            item(tid, idempotency_key="k2"),
        ]
    }
    results = (await (await api.post("/v1/notify/batch", json=batch, headers=auth(key))).json())["results"]
    assert results[0]["id"] == first["id"] and results[1]["id"] == results[2]["id"]
    assert await count(hub, Notification) == 2 and await count(hub, OutboxItem) == 2


async def test_notification_of_another_client_is_404(hub: Hub, api: Client, key: str) -> None:
    tid = await template_id(hub, api, key)
    accepted = await (await api.post("/v1/notify", json=item(tid), headers=auth(key))).json()
    other, _ = await new_client(hub, "Other shop")
    resp = await api.get(f"/v1/notifications/{accepted['id']}", headers=auth(other.api_key))
    assert await error_of(resp, 404) == "notification_not_found"


async def test_bad_notifications_are_refused_and_nothing_is_written(hub: Hub, api: Client, key: str) -> None:
    tid = await template_id(hub, api, key)
    async with hub.uow() as uow:
        client = (await uow.clients.list())[0]
    pending = (await approved_template(hub, client.id, "x")).id
    async with hub.uow() as uow:
        tpl = await uow.templates.get(pending)
        assert tpl is not None
        tpl.status = "pending"
        await uow.commit()
    old = (datetime.now(UTC) - timedelta(days=4)).isoformat()
    cases: list[tuple[Any, int, str]] = [
        (item(tid, to={"phone": "12"}), 422, "bad_phone"),
        (item(tid, to={"phone": "+7999", "vk_user_id": "1"}), 422, "invalid_field"),
        (item(tid, action_at=old), 422, "action_too_old"),
        (item(tid, action_at=None), 422, "action_at_required"),
        (item(tid, params={}), 422, "bad_params"),
        (item(tid, params={"order": 1, "x": 2}), 422, "bad_params"),
        (item("tpl_missing"), 404, "template_not_found"),
        (item(pending, params={}), 409, "template_not_approved"),
        (item(tid, route=[{"channel": "vk", "ttl": 5}]), 422, "invalid_field"),
        (item(tid, route=[{"channel": "pigeon"}]), 422, "invalid_field"),
        (item(tid, surprise=True), 422, "unknown_field"),
        (item(tid, params={"order": ["a"]}), 422, "invalid_field"),
    ]
    for body, status, code in cases:
        assert await error_of(await api.post("/v1/notify", json=body, headers=auth(key)), status) == code, (
            body
        )
    assert (
        await error_of(await api.post("/v1/notify", data=b"{not json", headers=auth(key)), 400)
        == "malformed_json"
    )
    assert await error_of(await api.post("/v1/notify", json=[1], headers=auth(key)), 400) == "malformed_json"
    big = b'{"x": "' + b"a" * (1024 * 1024 + 10) + b'"}'
    resp = await api.post("/v1/notify", data=io.BytesIO(big), headers=auth(key))
    assert await error_of(resp, 413) == "body_too_large"
    for model in (Notification, Leg, OutboxItem, Contact):
        assert await count(hub, model) == 0


async def test_batch_gives_a_result_per_item(hub: Hub, api: Client, key: str) -> None:
    tid = await template_id(hub, api, key)
    batch = {
        "items": [
            item(tid),
            item(tid, to={"phone": "nope"}),
            {"junk": 1},
            item(tid, to={"phone": "+79990000002"}),
        ]
    }
    resp = await api.post("/v1/notify/batch", json=batch, headers=auth(key))
    assert resp.status == 202
    body = await resp.json()
    assert (body["accepted"], body["rejected"]) == (2, 2)
    assert [r.get("error", {}).get("code") for r in body["results"]] == [
        None,
        "bad_phone",
        "missing_field",
        None,
    ]
    assert await count(hub, Notification) == 2
    too_many = {"items": [item(tid)] * 1001}
    assert (
        await error_of(await api.post("/v1/notify/batch", json=too_many, headers=auth(key)), 422)
        == "invalid_field"
    )


async def test_overloaded_database_is_503_with_retry_after(
    hub: Hub, api: Client, key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No pooled connection came free in time: the client is told to retry, not given a 500."""
    tid = await template_id(hub, api, key)

    async def pool_exhausted(*args: Any, **kwargs: Any) -> None:
        raise SQLAlchemyTimeout("QueuePool limit of size 10 overflow 10 reached")

    monkeypatch.setattr(hub.acceptor, "accept", pool_exhausted)
    resp = await api.post("/v1/notify", json=item(tid), headers=auth(key))
    assert await error_of(resp, 503) == "unavailable" and resp.headers["Retry-After"] == "1"
    assert await count(hub, Notification) == 0
    documented = (await (await api.get("/openapi.json")).json())["paths"]["/v1/notify"]["post"]["responses"]
    assert "Retry-After" in documented["503"]["headers"]  # clients generated from the spec expect it
