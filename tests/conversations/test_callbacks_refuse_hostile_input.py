"""Hostile input on the channel ingress is a 4xx, never a 500: deep JSON, odd path ids, absurd
timestamps; NUL bytes and lone surrogates in texts are stored cleaned (on PostgreSQL too)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from hub.api.app import create_app
from hub.bootstrap import Hub
from hub.channels.connections import add_connection, callback_path
from storage.models import Connection, InboundMessage
from tests.fakes.ok_api import ok_update
from tests.fakes.telegram_api import text_update
from tests.fakes.vk_api import message_new
from tests.support.real_adapters import link_customer
from tests.support.scenario import new_client

MakeClient = Callable[..., Awaitable[TestClient]]  # type: ignore[type-arg]
ADMIN = {"Authorization": "Bearer admin-secret"}
TG_TOKEN = "123456:ABCdefGhIJKlmNoPQRstuVWXyz0123456"
TG_RIGHT = {"X-Telegram-Bot-Api-Secret-Token": "tg-right"}
DEEP = b'{"a": ' * 50_000 + b"1" + b"}" * 50_000  # json.loads alone raises RecursionError


class Env:
    """An API client and one callback connection per channel of one client."""

    def __init__(self, hub: Hub, api: TestClient, conns: dict[str, Connection]) -> None:  # type: ignore[type-arg]
        self.hub, self.api, self.conns = hub, api, conns

    def url(self, channel: str) -> str:
        return callback_path(self.conns[channel])

    async def texts(self) -> list[str]:
        async with self.hub.uow() as uow:
            session = uow.connections._session
            stmt = select(InboundMessage.text).where(InboundMessage.direction == "in")
            return list((await session.execute(stmt.order_by(InboundMessage.text))).scalars())

    async def stored(self) -> int:
        async with self.hub.uow() as uow:
            stmt = select(func.count()).select_from(InboundMessage)
            return int((await uow.connections._session.execute(stmt)).scalar_one())


@pytest.fixture
async def env(hub: Hub, aiohttp_client: MakeClient) -> Env:
    api = await aiohttp_client(create_app(hub, run_workers=False))
    _, client = await new_client(hub)
    now = hub.clock.now()
    vk = {"group_id": 1, "token": "vk-token", "secret": "right", "confirmation": "a1b2c3d4"}
    tg = {"token": TG_TOKEN, "webhook_secret": "tg-right"}
    conns = {
        "vk": await add_connection(hub.uow(), client.id, "vk", vk, now, mode="callback"),
        "ok": await add_connection(hub.uow(), client.id, "ok", {"token": "ok-token"}, now),
        "telegram": await add_connection(hub.uow(), client.id, "telegram", tg, now, mode="callback"),
        "sms": await add_connection(hub.uow(), client.id, "sms", {"api_base_url": "http://gw"}, now),
    }
    await link_customer(hub, client.id, "+79161110001", vk="2001", telegram="3003", ok="user:1")
    return Env(hub, api, conns)


async def refused(resp: Any, status: int, code: str) -> None:
    assert resp.status == status, await resp.text()
    assert (await resp.json())["error"]["code"] == code


async def test_deeply_nested_bodies_are_400_or_403_never_500(env: Env) -> None:
    for channel in ("vk", "ok", "sms"):
        await refused(await env.api.post(env.url(channel), data=DEEP), 400, "malformed")
    await refused(await env.api.post(env.url("telegram"), data=DEEP, headers=TG_RIGHT), 400, "malformed")
    await refused(await env.api.post(env.url("telegram"), data=DEEP), 403, "forbidden")  # secret first
    brackets = {**message_new("e1", from_id=2001, text="[" * 10_000, message_id=5), "secret": "right"}
    assert (await env.api.post(env.url("vk"), json=brackets)).status == 200  # brackets in a text
    assert await env.stored() == 1


@pytest.mark.parametrize(
    "segment", ["3000000000", "9" * 30, "%C2%B2", "%C2%B2" * 20, "-1", "A" * 65, "..%2F" * 8]
)
async def test_odd_connection_segments_are_404(env: Env, segment: str) -> None:
    for channel in ("vk", "ok", "telegram", "sms"):
        resp = await env.api.post(f"/channels/{channel}/{segment}", json={})
        await refused(resp, 404, "unknown_connection")
    resp = await env.api.delete(f"/v1/admin/connections/{segment}", headers=ADMIN)
    assert resp.status == 404, await resp.text()


async def test_a_nul_in_the_connection_segment_is_400_before_any_lookup(env: Env) -> None:
    for channel in ("vk", "ok", "telegram", "sms"):
        await refused(await env.api.post(f"/channels/{channel}/{'%00' * 20}", json={}), 400, "invalid_text")
    resp = await env.api.delete(f"/v1/admin/connections/{'%00' * 20}", headers=ADMIN)
    assert resp.status == 400, await resp.text()
    assert await env.stored() == 0


@pytest.mark.parametrize("date", [10**20, -1, 1e300, "soon"])
async def test_vk_message_with_absurd_date_is_400(env: Env, date: Any) -> None:
    update = {**message_new("e1", from_id=2001, text="hi", message_id=5), "secret": "right"}
    update["object"]["message"]["date"] = date
    await refused(await env.api.post(env.url("vk"), json=update), 400, "malformed")
    assert await env.stored() == 0


async def test_vk_number_too_large_for_json_is_400(env: Env) -> None:
    body = b'{"group_id": 1, "type": "message_new", "secret": "right", "object": {"message": {"date": 1e400'
    body += b"}}}"
    await refused(await env.api.post(env.url("vk"), data=body), 400, "malformed")


@pytest.mark.parametrize("ts", [10**20, -5, 10**400], ids=["1e20", "negative", "1e400"])
async def test_ok_message_with_absurd_timestamp_is_400(env: Env, ts: int) -> None:
    resp = await env.api.post(env.url("ok"), json=ok_update("m1", user_id="user:1", ts=ts))
    await refused(resp, 400, "malformed")
    assert await env.stored() == 0
    batch = [ok_update("m2", user_id="user:1", ts=ts), ok_update("m3", user_id="user:1", text="ok")]
    assert (await env.api.post(env.url("ok"), json=batch)).status == 200  # the valid item is kept
    assert await env.texts() == ["ok"]


async def test_telegram_update_with_absurd_date_is_400(env: Env) -> None:
    update = {"update_id": 10, **text_update(3003, "hi", message_id=3)}
    update["message"]["date"] = 10**20
    await refused(await env.api.post(env.url("telegram"), json=update, headers=TG_RIGHT), 400, "malformed")


async def test_nul_bytes_and_lone_surrogates_are_stored_cleaned(env: Env) -> None:
    hostile = "a\x00b\ud800c\udfff"
    vk = {**message_new("e1", from_id=2001, text="vk " + hostile, message_id=5), "secret": "right"}
    assert (await env.api.post(env.url("vk"), json=vk)).status == 200
    tg = {"update_id": 10, **text_update(3003, "tg " + hostile, message_id=3)}
    assert (await env.api.post(env.url("telegram"), json=tg, headers=TG_RIGHT)).status == 200
    ok = ok_update("m\x001", user_id="user:1", text="ok " + hostile)
    assert (await env.api.post(env.url("ok"), json=ok)).status == 200
    sms = {"from": "79161110001", "text": "sms " + hostile, "id": "mo\x00-1"}
    assert (await env.api.post(env.url("sms"), json=sms)).status == 200
    pair = {**message_new("e2", from_id=2001, text="\ud83d\ude00", message_id=6), "secret": "right"}
    assert (await env.api.post(env.url("vk"), json=pair)).status == 200  # a real pair stays an emoji
    cleaned = "ab\ufffdc\ufffd"
    assert await env.texts() == ["ok " + cleaned, "sms " + cleaned, "tg " + cleaned, "vk " + cleaned, "😀"]


async def test_ids_too_long_to_store_are_400(env: Env) -> None:
    receipt = {"id": "x" * 65, "status": "delivered"}
    await refused(await env.api.post(env.url("sms"), json=receipt), 400, "malformed")
    reply = {"from": "7" * 40, "text": "СТОП", "id": "mo-1"}
    await refused(await env.api.post(env.url("sms"), json=reply), 400, "malformed")
    vk = {**message_new("e1", from_id=10**80, text="hi", message_id=5), "secret": "right"}
    await refused(await env.api.post(env.url("vk"), json=vk), 400, "malformed")
    assert await env.stored() == 0
