"""Channel ingress bad input: clear 4xx or a counted drop, never a crash, never a lost valid event."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from hub.api.app import create_app
from hub.bootstrap import Hub
from hub.channels.connections import add_connection, callback_path
from hub.conversations.ingress import INGRESS_STATS
from storage.models import Connection, InboundMessage, PendingReceipt
from tests.fakes.telegram_api import text_update
from tests.fakes.vk_api import message_new
from tests.support.real_adapters import link_customer
from tests.support.scenario import new_client

MakeClient = Callable[..., Awaitable[TestClient]]  # type: ignore[type-arg]
TG_TOKEN = "123456:ABCdefGhIJKlmNoPQRstuVWXyz0123456"


class Env:
    """An API client and one connection per channel of one client."""

    def __init__(self, hub: Hub, api: TestClient, conns: dict[str, Connection]) -> None:  # type: ignore[type-arg]
        self.hub, self.api, self.conns = hub, api, conns

    def url(self, channel: str) -> str:
        return callback_path(self.conns[channel])

    def drops(self, channel: str, reason: str) -> int:
        return self.api.app[INGRESS_STATS].drops[(channel, reason)]

    async def count(self, model: Any) -> int:
        async with self.hub.uow() as uow:
            session = uow.connections._session
            stmt = select(func.count()).select_from(model)
            if model is InboundMessage:  # customers' messages only, not the hub's confirmations
                stmt = stmt.where(InboundMessage.direction == "in")
            return int((await session.execute(stmt)).scalar_one())


@pytest.fixture
async def env(hub: Hub, aiohttp_client: MakeClient) -> Env:
    api = await aiohttp_client(create_app(hub, run_workers=False))
    _, client = await new_client(hub)
    now = hub.clock.now()
    vk = {"group_id": 1, "token": "vk-token", "secret": "right", "confirmation": "a1b2c3d4"}
    conns = {
        "vk": await add_connection(hub.uow(), client.id, "vk", vk, now, mode="callback"),
        "ok": await add_connection(hub.uow(), client.id, "ok", {"token": "ok-token"}, now),
        "telegram": await add_connection(
            hub.uow(),
            client.id,
            "telegram",
            {"token": TG_TOKEN, "webhook_secret": "tg-right"},
            now,
            mode="callback",
        ),
        "sms": await add_connection(
            hub.uow(), client.id, "sms", {"api_base_url": "http://gw", "token": "t"}, now
        ),
    }
    await link_customer(hub, client.id, "+79161110001", vk="2001", telegram="3003")
    return Env(hub, api, conns)


async def error_code(resp: Any, status: int) -> str:
    assert resp.status == status, await resp.text()
    return str((await resp.json())["error"]["code"])


async def test_vk_confirmation_and_secret(env: Env) -> None:
    confirm = await env.api.post(env.url("vk"), json={"type": "confirmation", "group_id": 1})
    assert (confirm.status, await confirm.text()) == (200, "a1b2c3d4")
    forged = await env.api.post(
        env.url("vk"), json={**message_new("e1", from_id=2001, text="hi", message_id=5), "secret": "wrong"}
    )
    assert await error_code(forged, 403) == "forbidden"
    assert env.drops("vk", "forbidden") == 1 and await env.count(InboundMessage) == 0
    good = await env.api.post(
        env.url("vk"), json={**message_new("e1", from_id=2001, text="hi", message_id=5), "secret": "right"}
    )
    assert (good.status, await good.text()) == (200, "ok")
    assert await env.count(InboundMessage) == 1


async def test_malformed_bodies_are_400(env: Env) -> None:
    for channel in ("vk", "ok", "sms"):
        resp = await env.api.post(env.url(channel), data=b"{not json")
        assert await error_code(resp, 400) == "malformed", channel
        assert env.drops(channel, "malformed") == 1
    resp = await env.api.post(
        env.url("telegram"), data=b"{not json", headers={"X-Telegram-Bot-Api-Secret-Token": "tg-right"}
    )
    assert await error_code(resp, 400) == "malformed"


async def test_unknown_and_deleted_connections_are_404(env: Env) -> None:
    for path in ("/channels/vk/999999", "/channels/vk/abc", f"/channels/ok/{env.conns['vk'].id}"):
        assert await error_code(await env.api.post(path, json={}), 404) in ("unknown_connection", "not_found")
    async with env.hub.uow() as uow:
        for channel in ("ok", "telegram"):
            await uow.connections.remove(env.conns[channel].id, env.hub.clock.now())
        await uow.commit()
    ok_update = {
        "sender": {"user_id": "user:1"},
        "message": {"mid": "m1", "text": "hi"},
        "timestamp": 1700000000000,
    }
    assert await error_code(await env.api.post(env.url("ok"), json=ok_update), 404) == "unknown_connection"
    tg = await env.api.post(
        env.url("telegram"),
        json={"update_id": 1, **text_update(3003, "hi")},
        headers={"X-Telegram-Bot-Api-Secret-Token": "tg-right"},
    )
    assert await error_code(tg, 404) == "unknown_connection"
    assert env.drops("ok", "unknown_connection") == 2 and env.drops("telegram", "unknown_connection") == 1


async def test_connection_removed_after_use_refuses_and_stores_nothing(env: Env) -> None:
    """The ingress reads a connection once; its removal is seen by the transaction that would commit."""
    first = {**message_new("e1", from_id=2001, text="привет", message_id=11), "secret": "right"}
    assert (await env.api.post(env.url("vk"), json=first)).status == 200
    before = await env.count(InboundMessage)
    async with env.hub.uow() as uow:  # removed elsewhere (the operator, another process)
        await uow.connections.remove(env.conns["vk"].id, env.hub.clock.now())
        await uow.commit()
    late = {**message_new("e2", from_id=2001, text="ещё вопрос", message_id=12), "secret": "right"}
    assert await error_code(await env.api.post(env.url("vk"), json=late), 404) == "unknown_connection"
    assert await env.count(InboundMessage) == before  # nothing of the refused callback was committed
    assert env.drops("vk", "unknown_connection") == 1
    again = await env.api.post(env.url("vk"), json=late)  # forgotten, then looked up: still refused
    assert await error_code(again, 404) == "unknown_connection"


async def test_telegram_secret_header(env: Env) -> None:
    update = {"update_id": 10, **text_update(3003, "привет", message_id=3)}
    wrong = await env.api.post(
        env.url("telegram"), json=update, headers={"X-Telegram-Bot-Api-Secret-Token": "nope"}
    )
    assert await error_code(wrong, 403) == "forbidden"
    missing = await env.api.post(env.url("telegram"), json=update)
    assert await error_code(missing, 403) == "forbidden"
    assert await env.count(InboundMessage) == 0
    right = await env.api.post(
        env.url("telegram"), json=update, headers={"X-Telegram-Bot-Api-Secret-Token": "tg-right"}
    )
    assert right.status == 200 and await env.count(InboundMessage) == 1


async def test_sms_batch_keeps_valid_items_and_parks_unknown_receipts(env: Env) -> None:
    batch = [
        {"id": "gw-unknown", "status": "DELIVRD"},  # a message we never sent (or not recorded yet)
        {"status": "DELIVRD"},  # malformed: no id
        {"id": "mo-1", "from": "79161110001", "text": "СТОП"},  # a reply to the incoming number
    ]
    resp = await env.api.post(env.url("sms"), json=batch)
    assert resp.status == 200 and await resp.json() == {"accepted": 2, "skipped": 1}
    assert env.drops("sms", "malformed_item") == 1
    assert await env.count(PendingReceipt) == 1  # parked, applied if the send is recorded later
    assert await env.count(InboundMessage) == 1


async def test_vk_permission_events_set_allowed(env: Env) -> None:
    async def allowed() -> bool:
        async with env.hub.uow() as uow:
            contact = await uow.contacts.by_identity(env.conns["vk"].client_id, "vk", ["2001"])
            [ident] = [
                i
                for i in (await uow.contacts.identities(contact.values()))[contact["2001"]]
                if i.channel == "vk"
            ]
            return ident.allowed

    for kind, expected in (("message_deny", False), ("message_allow", True)):
        update = {
            "group_id": 1,
            "type": kind,
            "event_id": kind,
            "v": "5.199",
            "object": {"user_id": 2001},
            "secret": "right",
        }
        resp = await env.api.post(env.url("vk"), json=update)
        assert resp.status == 200
        assert await allowed() is expected
