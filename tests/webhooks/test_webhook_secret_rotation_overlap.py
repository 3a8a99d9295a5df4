"""Rotating a webhook's signing secret: both secrets sign during the overlap, then only the new one."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from hub.api.app import create_app
from hub.bootstrap import Hub
from hub.clock import iso
from hub.webhooks import events as webhooks
from storage.models import WebhookEndpoint
from tests.fakes.clock import FakeClock
from tests.support.scenario import new_client

MakeClient = Callable[..., Awaitable[TestClient]]  # type: ignore[type-arg]
MakeServer = Callable[..., Awaitable[TestServer]]


@dataclass
class RawReceiver:
    """Keeps each delivery's headers and body as they arrived; the test verifies them."""

    got: list[tuple[dict[str, str], bytes]] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.Response:
        self.got.append(({k.lower(): v for k, v in request.headers.items()}, await request.read()))
        return web.json_response({"ok": True})


@dataclass
class Setup:
    api: TestClient  # type: ignore[type-arg]
    auth: dict[str, str]
    client_id: str
    hook: dict[str, Any]
    receiver: RawReceiver


@pytest.fixture
async def setup(hub: Hub, aiohttp_client: MakeClient, aiohttp_server: MakeServer) -> Setup:
    receiver = RawReceiver()
    app = web.Application()
    app.router.add_post("/hook", receiver.handle)
    server = await aiohttp_server(app)
    api = await aiohttp_client(create_app(hub, run_workers=False))
    created, client = await new_client(hub)
    auth = {"Authorization": f"Bearer {created.api_key}"}
    resp = await api.post("/v1/webhooks", json={"url": str(server.make_url("/hook"))}, headers=auth)
    assert resp.status == 201
    return Setup(api, auth, client.id, await resp.json(), receiver)


async def rotate(s: Setup, body: dict[str, Any] | None = None) -> dict[str, Any]:
    resp = await s.api.post(f"/v1/webhooks/{s.hook['id']}/rotate", json=body, headers=s.auth)
    assert resp.status == 200, await resp.text()
    rotated: dict[str, Any] = await resp.json()
    return rotated


async def deliver_one(hub: Hub, s: Setup, text: str) -> tuple[dict[str, str], bytes]:
    """Queue one event for the client and let the sender deliver it."""
    event = webhooks.Event(s.client_id, "reply.received", "con_1", {"text": text})
    async with hub.uow() as uow:
        await webhooks.emit(uow, [event], hub.clock.now())
        await uow.commit()
    assert hub.webhook_sender is not None
    assert await hub.webhook_sender.run_once() == 1
    return s.receiver.got[-1]


def accepts(secret: str, delivery: tuple[dict[str, str], bytes]) -> bool:
    """Whether a Standard Webhooks receiver holding `secret` accepts the delivery."""
    headers, body = delivery
    try:
        Webhook(secret).verify(body, headers)
    except WebhookVerificationError:
        return False
    return True


async def test_during_the_overlap_a_receiver_holding_either_secret_accepts(
    hub: Hub, clock: FakeClock, setup: Setup
) -> None:
    old = setup.hook["secret"]
    rotated = await rotate(setup)  # no body: the default overlap, 24 hours
    new = rotated["secret"]
    assert new != old and new.startswith("whsec_")
    assert rotated["previous_secret_expires_at"] == iso(clock.now() + 24 * 3600)
    assert "previous_secret" not in rotated

    delivery = await deliver_one(hub, setup, "during the overlap")
    headers, body = delivery
    at = datetime.fromtimestamp(int(headers["webhook-timestamp"]), UTC)
    msg_id = headers["webhook-id"]
    both = f"{Webhook(old).sign(msg_id, at, body.decode())} {Webhook(new).sign(msg_id, at, body.decode())}"
    assert headers["webhook-signature"] == both  # `v1,<old> v1,<new>`
    assert accepts(old, delivery) and accepts(new, delivery)
    assert not accepts(webhooks.new_secret(), delivery)

    listed = await (await setup.api.get("/v1/webhooks", headers=setup.auth)).json()
    assert listed["webhooks"][0]["previous_secret_expires_at"] == rotated["previous_secret_expires_at"]
    assert old not in str(listed) and new not in str(listed)
    async with hub.uow() as uow:  # the previous secret is stored sealed like the current one
        stmt = select(WebhookEndpoint.previous_secret, WebhookEndpoint.secret)
        stored = (await uow.webhooks._session.execute(stmt)).one()
    assert all(v.startswith("enc:v1:") for v in stored) and old not in stored and new not in stored


async def test_after_the_overlap_only_the_new_secret_signs(hub: Hub, clock: FakeClock, setup: Setup) -> None:
    old = setup.hook["secret"]
    new = (await rotate(setup, {"overlap_hours": 0.01}))["secret"]  # 36 seconds
    assert accepts(old, await deliver_one(hub, setup, "inside"))
    clock.advance(40)
    delivery = await deliver_one(hub, setup, "after")
    assert " " not in delivery[0]["webhook-signature"]
    assert accepts(new, delivery) and not accepts(old, delivery)
    view = await (await setup.api.get(f"/v1/webhooks/{setup.hook['id']}", headers=setup.auth)).json()
    assert view["previous_secret_expires_at"] is None


async def test_zero_overlap_switches_at_once_and_a_second_rotation_keeps_two(hub: Hub, setup: Setup) -> None:
    first = setup.hook["secret"]
    second = (await rotate(setup, {"overlap_hours": 0}))["secret"]
    delivery = await deliver_one(hub, setup, "no overlap")
    assert accepts(second, delivery) and not accepts(first, delivery)
    third = (await rotate(setup, {"overlap_hours": 2}))["secret"]
    fourth = (await rotate(setup, {"overlap_hours": 2}))["secret"]  # again, during the overlap
    delivery = await deliver_one(hub, setup, "rotated twice")
    assert len(delivery[0]["webhook-signature"].split(" ")) == 2
    assert accepts(third, delivery) and accepts(fourth, delivery) and not accepts(second, delivery)


@pytest.mark.parametrize("overlap", [False, "24", -1, 721, [1]])
async def test_overlap_hours_must_be_a_number_from_0_to_720(hub: Hub, setup: Setup, overlap: Any) -> None:
    resp = await setup.api.post(
        f"/v1/webhooks/{setup.hook['id']}/rotate", json={"overlap_hours": overlap}, headers=setup.auth
    )
    assert resp.status == 422, await resp.text()
    error = (await resp.json())["error"]
    assert error["code"] == "invalid_field" and error["message"].startswith("overlap_hours")
    assert accepts(setup.hook["secret"], await deliver_one(hub, setup, "not rotated"))
