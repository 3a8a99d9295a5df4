"""Integrators drive their sandbox: a customer writes, shows what they received, follows a link."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from hub.api.app import create_app
from hub.bootstrap import Hub, build_hub
from hub.config import SandboxConfig
from tests.conftest import make_config
from tests.fakes.clock import FakeClock
from tests.support.scenario import accept, approved_template, new_client, notify_item, run_until_final, step

MakeClient = Callable[..., Awaitable[TestClient]]  # type: ignore[type-arg]
READS_VK = "+79990000001"  # VK 1001, reads within seconds
NO_TELEGRAM = READS_VK
VK_THEN_SMS = [{"channel": "vk", "ttl": 15}, {"channel": "sms"}]


class Sandbox:
    """One client's view of the API."""

    def __init__(self, api: TestClient, key: str) -> None:  # type: ignore[type-arg]
        self.api, self.auth = api, {"Authorization": f"Bearer {key}"}

    async def post(self, path: str, body: Any) -> tuple[int, dict[str, Any]]:
        resp = await self.api.post(path, json=body, headers=self.auth)
        return resp.status, dict(await resp.json())

    async def get(self, path: str, **params: str) -> tuple[int, dict[str, Any]]:
        resp = await self.api.get(path, params=params, headers=self.auth)
        return resp.status, dict(await resp.json())


@pytest.fixture
async def shop(hub: Hub, aiohttp_client: MakeClient) -> Sandbox:
    api = await aiohttp_client(create_app(hub, run_workers=False))
    made, _ = await new_client(hub, "Shop")
    return Sandbox(api, made.api_key)


async def test_inbound_is_filed_classified_and_acted_on_like_a_reply(
    hub: Hub, clock: FakeClock, shop: Sandbox
) -> None:
    hook = await shop.post("/v1/webhooks", {"url": "http://127.0.0.1:9/hook"})
    assert hook[0] == 201
    status, filed = await shop.post(
        "/v1/sandbox/inbound", {"phone": READS_VK, "channel": "vk", "text": "СТОП"}
    )
    assert status == 202
    assert (filed["channel"], filed["from"], filed["label"]) == ("vk", "1001", "opt_out")
    assert filed["thread_id"].startswith("thr_") and filed["message_id"].startswith("msg_")
    _, thread = await shop.get(f"/v1/threads/{filed['thread_id']}")
    assert [m["text"] for m in thread["messages"] if m["direction"] == "in"] == ["СТОП"]
    _, contact = await shop.get(f"/v1/contacts/{READS_VK}")
    assert contact["opted_out"] and contact["phone"] == READS_VK
    _, log = await shop.get("/v1/webhooks/deliveries")
    assert {"reply.received", "contact.opted_out"} <= {d["event"] for d in log["deliveries"]}
    for _ in range(4):  # the confirmation goes out on VK through the client's sandbox
        await step(hub, clock)
    _, received = await shop.get("/v1/sandbox/messages", phone=READS_VK)
    assert [(m["channel"], m["text"][:10]) for m in received["messages"]] == [("vk", "Вы отписан")]


async def test_inbound_by_messenger_id_and_by_sms(shop: Sandbox) -> None:
    status, by_id = await shop.post(
        "/v1/sandbox/inbound", {"vk_user_id": "1005", "channel": "vk", "text": "5"}
    )
    assert status == 202 and by_id["label"] == "rating" and by_id["rating"] == 5
    _, contact = await shop.get("/v1/contacts/+79990000005")
    assert [(i["channel"], i["external_id"]) for i in contact["identities"]] == [("vk", "1005")]
    status, sms = await shop.post(
        "/v1/sandbox/inbound", {"telegram_chat_id": "7000007", "channel": "sms", "text": "а когда привезут?"}
    )
    assert status == 202 and (sms["from"], sms["label"]) == ("+79990000007", "question")


async def test_messages_lists_what_the_customer_received_in_order_with_status(
    hub: Hub, clock: FakeClock, shop: Sandbox
) -> None:
    _, client = await new_client(hub, "Other")  # sends to the same customer: not in the shop's list
    other_template = await approved_template(hub, client.id)
    await accept(hub, client, [notify_item(other_template.id, "+79990000003", route=VK_THEN_SMS)])
    async with hub.uow() as uow:
        [shop_row] = [c for c in await uow.clients.list() if c.name == "Shop"]
    template = await approved_template(hub, shop_row.id)
    never_opens = "+79990000003"  # VK never delivered: expires (withdrawn), then SMS
    [note] = await accept(hub, shop_row, [notify_item(template.id, never_opens, route=VK_THEN_SMS)])
    await run_until_final(hub, clock, [note.id])
    status, got = await shop.get("/v1/sandbox/messages", phone=never_opens)
    assert status == 200 and got["phone"] == never_opens
    assert [(m["channel"], m["to"], m["status"], m["notification_id"]) for m in got["messages"]] == [
        ("vk", "1003", "withdrawn", note.id),
        ("sms", never_opens, "delivered", note.id),
    ]
    assert got["messages"][1]["delivered_at"] is not None and got["messages"][1]["reply"] is None
    _, page = await shop.get("/v1/sandbox/messages", phone=never_opens, limit="1")
    assert [m["channel"] for m in page["messages"]] == ["vk"]
    _, rest = await shop.get("/v1/sandbox/messages", phone=never_opens, after=str(page["next_after"]))
    assert [m["channel"] for m in rest["messages"]] == ["sms"] and rest["next_after"] is None
    _, by_vk = await shop.get("/v1/sandbox/messages", vk_user_id="1003")
    assert by_vk == got


async def test_following_a_link_links_the_customer_and_a_used_link_links_nothing(
    hub: Hub, shop: Sandbox, aiohttp_client: MakeClient
) -> None:
    customer = "+79991000017"  # generated: a VK account (see bots.sandbox_customers)
    status, links = await shop.post(f"/v1/contacts/{customer}/links", {"channels": ["vk"]})
    assert status == 201
    [vk_link] = links["links"]
    status, followed = await shop.post("/v1/sandbox/follow", {"url": vk_link["url"]})
    assert status == 202, followed
    assert (followed["linked"], followed["link_refused"], followed["from"]) == (True, None, "700000017")
    _, contact = await shop.get(f"/v1/contacts/{customer}")
    assert contact["ownership"] == "verified"
    assert [(i["channel"], i["external_id"]) for i in contact["identities"]] == [("vk", "700000017")]
    status, again = await shop.post("/v1/sandbox/follow", {"url": vk_link["url"], "text": "ещё раз"})
    assert status == 202 and (again["linked"], again["link_refused"]) == (False, "token_used")
    made, _ = await new_client(hub, "Rival")
    rival = Sandbox(shop.api, made.api_key)
    status, error = await rival.post("/v1/sandbox/follow", {"url": vk_link["url"]})
    assert (status, error["error"]["code"]) == (404, "link_not_found")


async def test_someone_else_following_a_link_takes_the_account_over(shop: Sandbox) -> None:
    _, links = await shop.post(f"/v1/contacts/{READS_VK}/links", {"channels": ["telegram"]})
    [tg] = links["links"]
    assert tg["url"].startswith("sandbox://telegram?start=")
    status, error = await shop.post("/v1/sandbox/follow", {"url": tg["url"]})  # 1001 has no Telegram
    assert (status, error["error"]["code"]) == (409, "channel_unavailable")
    status, followed = await shop.post("/v1/sandbox/follow", {"url": tg["url"], "phone": "+79990000007"})
    assert status == 202 and followed["linked"] and followed["from"] == "7000007"
    _, contact = await shop.get(f"/v1/contacts/{READS_VK}")
    assert ("telegram", "7000007") in [(i["channel"], i["external_id"]) for i in contact["identities"]]


@pytest.mark.parametrize(
    ("path", "body", "status", "code"),
    [
        ("/v1/sandbox/inbound", {"phone": READS_VK, "channel": "max", "text": "hi"}, 422, "invalid_field"),
        ("/v1/sandbox/inbound", {"channel": "vk", "text": "hi"}, 422, "missing_identity"),
        (
            "/v1/sandbox/inbound",
            {"phone": READS_VK, "vk_user_id": "1001", "channel": "vk", "text": "hi"},
            422,
            "ambiguous_identity",
        ),
        (
            "/v1/sandbox/inbound",
            {"phone": "+79161234567", "channel": "vk", "text": "hi"},
            422,
            "not_sandbox_customer",
        ),
        ("/v1/sandbox/inbound", {"phone": "12", "channel": "vk", "text": "hi"}, 422, "bad_phone"),
        (
            "/v1/sandbox/inbound",
            {"vk_user_id": "424242", "channel": "vk", "text": "hi"},
            422,
            "not_sandbox_customer",
        ),
        (
            "/v1/sandbox/inbound",
            {"phone": NO_TELEGRAM, "channel": "telegram", "text": "hi"},
            409,
            "channel_unavailable",
        ),
        (
            "/v1/sandbox/inbound",
            {"phone": "+79990000009", "channel": "sms", "text": "hi"},
            409,
            "channel_unavailable",
        ),
        ("/v1/sandbox/inbound", {"phone": READS_VK, "channel": "vk", "text": ""}, 422, "invalid_field"),
        (
            "/v1/sandbox/follow",
            {"url": "https://vk.me/club1?ref=abcdefghijklmnopqrstuvwx"},
            422,
            "not_sandbox_link",
        ),
        ("/v1/sandbox/follow", {"url": "sandbox://vk?start=abcdefghijklmnopqrstuvwx"}, 404, "link_not_found"),
        ("/v1/sandbox/follow", {}, 422, "missing_field"),
    ],
)
async def test_bad_input_is_refused_with_a_code(
    shop: Sandbox, path: str, body: dict[str, Any], status: int, code: str
) -> None:
    got_status, got = await shop.post(path, body)
    assert (got_status, got["error"]["code"]) == (status, code)


async def test_messages_refuses_a_number_outside_the_sandbox(shop: Sandbox) -> None:
    for params, code in [({"phone": "+79161234567"}, "not_sandbox_customer"), ({}, "missing_identity")]:
        status, got = await shop.get("/v1/sandbox/messages", **params)
        assert (status, got["error"]["code"]) == (422, code)
    status, got = await shop.get("/v1/sandbox/messages", phone=READS_VK, limit="0")
    assert (status, got["error"]["code"]) == (422, "invalid_field")


@pytest.fixture
async def no_sandbox(db_url: str, clock: FakeClock) -> AsyncIterator[Hub]:
    wired = build_hub(make_config(db_url, sandbox=SandboxConfig(enabled=False)), clock=clock)
    yield wired
    await wired.aclose()


async def test_sandbox_endpoints_answer_404_when_the_sandbox_is_disabled(
    no_sandbox: Hub, aiohttp_client: MakeClient
) -> None:
    api = await aiohttp_client(create_app(no_sandbox, run_workers=False))
    made, _ = await new_client(no_sandbox)
    off = Sandbox(api, made.api_key)
    answers = [
        await off.post("/v1/sandbox/inbound", {"phone": READS_VK, "channel": "vk", "text": "hi"}),
        await off.get("/v1/sandbox/messages", phone=READS_VK),
        await off.post("/v1/sandbox/follow", {"url": "sandbox://vk?start=abcdefghijklmnopqrstuvwx"}),
    ]
    assert [(status, body["error"]["code"]) for status, body in answers] == [(404, "sandbox_disabled")] * 3


async def test_agent_keys_read_but_do_not_write(hub: Hub, shop: Sandbox) -> None:
    async with hub.uow() as uow:
        [client] = await uow.clients.list()
    agent = await shop.api.post(
        "/v1/admin/agents",
        json={"client_id": client.id, "name": "olga"},
        headers={"Authorization": "Bearer admin-secret"},
    )
    as_agent = Sandbox(shop.api, (await agent.json())["api_key"])
    status, _ = await as_agent.get("/v1/sandbox/messages", phone=READS_VK)
    assert status == 200
    status, got = await as_agent.post(
        "/v1/sandbox/inbound", {"phone": READS_VK, "channel": "vk", "text": "hi"}
    )
    assert (status, got["error"]["code"]) == (403, "forbidden")
