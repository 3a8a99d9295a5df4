"""Issue 4 must-show: the demo flow with VK, Telegram and SMS legs through the real adapters to the fakes.

The client has real connections (pointed at the fake servers by `api_base_url`), so nothing goes
to the sandbox: sends cross HTTP through vkbottle, aiogram and httpx, receipts and replies come
back through VK long polling and the Callback API, Telegram getUpdates, and the SMS gateway's
status callback, and are committed by the hub's ingress and readers.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from hub.api.app import create_app
from hub.bootstrap import Hub
from hub.channels.connections import callback_path
from hub.channels.readers import run_connections
from hub.delivery.views import notification_view
from tests.fakes.clock import FakeClock
from tests.fakes.sms_gateway import FakeSmsGateway
from tests.fakes.telegram_api import FakeTelegramApi, text_update
from tests.fakes.vk_api import FakeVkApi, message_new, send_callback
from tests.support.real_adapters import connect_fakes, dispatch, link_customer, until
from tests.support.scenario import accept, approved_template, new_client, notify_item

MakeClient = Callable[..., Awaitable[TestClient]]  # type: ignore[type-arg]
ROUTE = [{"channel": "vk", "ttl": 60}, {"channel": "telegram", "ttl": 60}, {"channel": "sms"}]
ANNA, BORIS, CHEN = "+79161110001", "+79161110002", "+79161110003"


@pytest.fixture
async def fakes() -> AsyncIterator[tuple[FakeVkApi, FakeTelegramApi, FakeSmsGateway]]:
    async with FakeVkApi() as vk, FakeTelegramApi() as tg, FakeSmsGateway() as gw:
        yield vk, tg, gw


def message_read(event_id: str, peer: int, message_id: int) -> dict[str, Any]:
    obj = {
        "from_id": peer,
        "peer_id": peer,
        "read_message_id": message_id,
        "conversation_message_id": message_id,
    }
    return {"group_id": 1, "type": "message_read", "event_id": event_id, "v": "5.199", "object": obj}


async def test_demo_flow_through_real_adapters(
    hub: Hub,
    clock: FakeClock,
    aiohttp_client: MakeClient,
    fakes: tuple[FakeVkApi, FakeTelegramApi, FakeSmsGateway],
) -> None:
    vk, tg, gw = fakes
    api = await aiohttp_client(create_app(hub, run_workers=False))
    _, client = await new_client(hub)
    template = await approved_template(hub, client.id, context="survey")
    conns = await connect_fakes(hub, client.id, vk, tg, gw)
    await link_customer(hub, client.id, ANNA, vk="2001")
    await link_customer(hub, client.id, BORIS, vk="2002")
    await link_customer(hub, client.id, CHEN, telegram="3003")
    vk.peer_errors[2002] = 901  # Boris does not allow community messages
    accepted = await accept(
        hub, client, [notify_item(template.id, p, route=ROUTE) for p in (ANNA, BORIS, CHEN)]
    )
    ids = dict(zip((ANNA, BORIS, CHEN), [a.id for a in accepted], strict=True))

    async def view(phone: str) -> dict[str, Any]:
        found = await notification_view(hub.uow(), ids[phone], client.id)
        assert found is not None
        return found

    async def leg(phone: str, idx: int) -> str:
        return str((await view(phone))["legs"][idx]["status"])

    stop = asyncio.Event()
    readers = asyncio.create_task(run_connections(hub, stop))
    try:
        for _ in range(3):
            await dispatch(hub, clock)
        [anna_vk] = [m for m in vk.sent if m.peer_id == 2001]
        vk.push(message_read("r1", 2001, anna_vk.message_id))  # read, reported through long poll
        await until(lambda: _is(leg(ANNA, 0), "read"), "Anna's VK leg read via long poll")

        [boris_sms] = gw.sent
        resp = await api.post(callback_path(conns["sms"]), json={"id": boris_sms.id, "status": "DELIVRD"})
        assert resp.status == 200, await resp.text()

        url = str(api.make_url(callback_path(conns["vk"])))
        reply = message_new("m1", from_id=2001, text="5, всё отлично", message_id=900)
        for _ in range(2):  # VK retries a callback it did not see `ok` for: stored once
            assert await send_callback(url, reply, secret="vk-callback-secret") == (200, "ok")

        update_id = tg.push(text_update(3003, "thanks, got it", message_id=7))
        await until(lambda: _has_reply(view(CHEN)), "Chen's Telegram reply via getUpdates")
        for _ in range(3):
            await dispatch(hub, clock)
    finally:
        stop.set()
        await readers

    anna, boris, chen = await view(ANNA), await view(BORIS), await view(CHEN)
    assert (anna["legs"][0]["channel"], anna["legs"][0]["status"]) == ("vk", "read")
    assert anna["status"] == "read" and anna["cost"] == 0.9
    assert [r["text"] for r in anna["replies"]] == ["5, всё отлично"]
    assert [(g["channel"], g["status"]) for g in boris["legs"]] == [
        ("vk", "skipped"),
        ("telegram", "skipped"),
        ("sms", "delivered"),
    ]
    assert "901" in boris["legs"][0]["error"]
    assert boris["status"] == "delivered"
    assert boris["legs"][2]["price"] == 7.0 and boris["cost"] == 7.0  # 75 Cyrillic characters: 2 SMS parts
    assert [(g["channel"], g["status"]) for g in chen["legs"]][:2] == [
        ("vk", "skipped"),
        ("telegram", "sent"),
    ]
    assert chen["status"] == "sent" and chen["cost"] == 0
    assert [r["text"] for r in chen["replies"]] == ["thanks, got it"]
    # each customer received each message exactly once, on one channel
    assert [m.peer_id for m in vk.sent] == [2001]
    assert [m.chat_id for m in tg.sent] == [3003]
    assert [s.to for s in gw.sent] == [BORIS]
    # long-poll cursors were stored after the committed batches
    async with hub.uow() as uow:
        vk_row, tg_row = (
            await uow.connections.get(conns["vk"].id),
            await uow.connections.get(conns["telegram"].id),
        )
    assert vk_row is not None and vk_row.cursor == str(vk.next_ts)
    assert tg_row is not None and tg_row.cursor == str(update_id + 1)


async def _is(value: Awaitable[str], expected: str) -> bool:
    return await value == expected


async def _has_reply(view: Awaitable[dict[str, Any]]) -> bool:
    return bool((await view)["replies"])
