"""Issue 6 must-show, real channels (VK, Telegram, SMS fakes): reply, action, signed webhook, answer."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from hub.api.app import create_app
from hub.bootstrap import Hub
from hub.channels.connections import callback_path
from tests.fakes.clock import FakeClock
from tests.fakes.sms_gateway import FakeSmsGateway
from tests.fakes.telegram_api import FakeTelegramApi, text_update
from tests.fakes.vk_api import FakeVkApi, message_new, send_callback
from tests.support.real_adapters import connect_fakes, dispatch, link_customer
from tests.support.scenario import accept, approved_template, new_client, notify_item
from tests.support.webhook_receiver import Receiver

MakeClient = Callable[..., Awaitable[TestClient]]  # type: ignore[type-arg]
MakeServer = Callable[..., Awaitable[TestServer]]
Fakes = tuple[FakeVkApi, FakeTelegramApi, FakeSmsGateway]
PHONE = "+79161110001"
ADMIN = {"Authorization": "Bearer admin-secret"}


@pytest.fixture
async def fakes() -> AsyncIterator[Fakes]:
    async with FakeVkApi() as vk, FakeTelegramApi() as tg, FakeSmsGateway() as gw:
        yield vk, tg, gw


class Flow:
    """A client with real connections to the fakes, a signed-webhook receiver and an agent."""

    def __init__(self, hub: Hub, clock: FakeClock, api: TestClient, receiver: Receiver) -> None:  # type: ignore[type-arg]
        self.hub, self.clock, self.api, self.receiver = hub, clock, api, receiver
        self.conns: dict[str, Any] = {}
        self.key = self.agent = ""

    async def setup(self, fakes: Fakes, hook_url: str, **identity: str) -> str:
        made, client = await new_client(self.hub)
        self.key = made.api_key
        self.conns = await connect_fakes(self.hub, client.id, *fakes)
        await link_customer(self.hub, client.id, PHONE, **identity)
        hook = await self.api.post("/v1/webhooks", json={"url": hook_url}, headers=self.auth())
        self.receiver.secret = (await hook.json())["secret"]
        agent = await self.api.post(
            "/v1/admin/agents", json={"client_id": client.id, "name": "olga"}, headers=ADMIN
        )
        self.agent = (await agent.json())["api_key"]
        template = await approved_template(self.hub, client.id, context="survey")
        channel = next(iter(identity)) if identity else "sms"
        [note] = await accept(
            self.hub, client, [notify_item(template.id, PHONE, route=[{"channel": channel}])]
        )
        for _ in range(2):
            await dispatch(self.hub, self.clock)
        return note.id

    def auth(self, key: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {key or self.key}"}

    async def thread(self) -> dict[str, Any]:
        [head] = (await (await self.api.get("/v1/threads", headers=self.auth())).json())["threads"]
        return dict(await (await self.api.get(f"/v1/threads/{head['id']}", headers=self.auth())).json())

    async def webhooks(self) -> None:
        assert self.hub.webhook_sender is not None
        while await self.hub.webhook_sender.run_once():
            pass

    async def agent_answers(self, text: str) -> None:
        thread = await self.thread()
        resp = await self.api.post(
            f"/v1/threads/{thread['id']}/messages", json={"text": text}, headers=self.auth(self.agent)
        )
        assert resp.status == 202, await resp.text()
        for _ in range(2):
            await dispatch(self.hub, self.clock)


@pytest.fixture
async def flow(hub: Hub, clock: FakeClock, aiohttp_client: MakeClient, aiohttp_server: MakeServer) -> Flow:
    receiver = Receiver()
    server = await aiohttp_server(receiver.app())
    api = await aiohttp_client(create_app(hub, run_workers=False))
    f = Flow(hub, clock, api, receiver)
    f.receiver = receiver
    f.hook_url = str(server.make_url("/hook"))  # type: ignore[attr-defined]
    return f


async def test_vk_opt_out_confirmed_and_agent_answer(flow: Flow, fakes: Fakes) -> None:
    vk = fakes[0]
    await flow.setup(fakes, flow.hook_url, vk="2001")  # type: ignore[attr-defined]
    url = str(flow.api.make_url(callback_path(flow.conns["vk"])))
    reply = message_new("m1", from_id=2001, text="СТОП", message_id=900)
    reply["object"]["message"]["date"] = int(flow.clock.now())  # written now (activity counts from it)
    for _ in range(2):  # VK retries a callback: stored once, acted on once
        assert await send_callback(url, reply, secret="vk-callback-secret") == (200, "ok")
    for _ in range(2):
        await dispatch(flow.hub, flow.clock)
    await flow.webhooks()
    assert (await (await flow.api.get(f"/v1/contacts/{PHONE}", headers=flow.auth())).json())["opted_out"]
    assert [m.text.startswith("Вы отписаны") for m in vk.sent if m.peer_id == 2001] == [False, True]
    types = flow.receiver.types()
    assert types.count("reply.received") == 1 and types.count("contact.opted_out") == 1
    [received] = [r for r in flow.receiver.got if r.type == "reply.received"]
    assert (received.data["label"], received.data["channel"]) == ("opt_out", "vk")
    await flow.agent_answers("Мы вас отписали, извините за беспокойство")
    assert vk.sent[-1].peer_id == 2001 and vk.sent[-1].text.startswith("Мы вас отписали")


async def test_telegram_question_reaches_agent_and_answer_goes_back(flow: Flow, fakes: Fakes) -> None:
    tg = fakes[1]
    await flow.setup(fakes, flow.hook_url, telegram="3003")  # type: ignore[attr-defined]
    update = {"update_id": 10, **text_update(3003, "а когда привезут?", message_id=7)}
    update["message"]["date"] = int(flow.clock.now())
    resp = await flow.api.post(
        callback_path(flow.conns["telegram"]),
        json=update,
        headers={"X-Telegram-Bot-Api-Secret-Token": "tg-secret"},
    )
    assert resp.status == 200, await resp.text()
    await flow.webhooks()
    assert (await flow.thread())["needs_agent"] is True
    assert {"reply.received", "thread.needs_agent"} <= set(flow.receiver.types())
    await flow.agent_answers("Завтра до 18:00")
    assert [(m.chat_id, m.text) for m in tg.sent][-1] == (3003, "Завтра до 18:00")
    thread = await flow.thread()
    assert thread["needs_agent"] is False and thread["messages"][-1]["delivery"]["status"] == "sent"


async def test_sms_rating_recorded_and_agent_answer_by_sms(flow: Flow, fakes: Fakes) -> None:
    gw = fakes[2]
    note_id = await flow.setup(fakes, flow.hook_url)  # type: ignore[attr-defined]
    mo = {"id": "mo-1", "from": PHONE.lstrip("+"), "text": "5, всё отлично"}
    resp = await flow.api.post(callback_path(flow.conns["sms"]), json=[mo])
    assert resp.status == 200, await resp.text()
    await flow.webhooks()
    [received] = [r for r in flow.receiver.got if r.type == "reply.received"]
    assert (received.data["label"], received.data["rating"], received.data["channel"]) == ("rating", 5, "sms")
    assert received.data["notification_id"] == note_id
    await flow.agent_answers("Спасибо за оценку!")
    assert [(s.to, s.text) for s in gw.sent][-1] == (PHONE, "Спасибо за оценку!")
