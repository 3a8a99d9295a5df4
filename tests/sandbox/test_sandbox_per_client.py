"""Each client's sandbox is its own: a shared sandbox customer's replies go back to whoever wrote."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp.test_utils import TestClient

from hub.api.app import create_app
from hub.bootstrap import Hub
from hub.channels.connections import add_connection
from tests.fakes.clock import FakeClock
from tests.support.scenario import accept, approved_template, new_client, notify_item, run_until_final

MakeClient = Callable[..., Awaitable[TestClient]]  # type: ignore[type-arg]
RATES = "+79990000005"  # reads VK within a second or two and answers "5, всё отлично"
VK_THEN_SMS = [{"channel": "vk", "ttl": 15}, {"channel": "sms"}]


def _auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def _thread(api: TestClient, key: str, phone: str) -> dict[str, Any] | None:  # type: ignore[type-arg]
    found = await (await api.get("/v1/threads", params={"phone": phone}, headers=_auth(key))).json()
    if not found["threads"]:
        return None
    [head] = found["threads"]
    return dict(await (await api.get(f"/v1/threads/{head['id']}", headers=_auth(key))).json())


async def test_two_clients_writing_to_one_sandbox_customer_each_get_only_their_own_reply(
    hub: Hub, clock: FakeClock, aiohttp_client: MakeClient
) -> None:
    api = await aiohttp_client(create_app(hub, run_workers=False))
    made_a, a = await new_client(hub, "A")
    made_b, b = await new_client(hub, "B")
    survey_a = await approved_template(hub, a.id, context="survey")
    survey_b = await approved_template(hub, b.id, context="survey")
    [note_a] = await accept(hub, a, [notify_item(survey_a.id, RATES, route=VK_THEN_SMS)])
    clock.advance(1)  # B writes last: before, both replies were filed with B
    [note_b] = await accept(hub, b, [notify_item(survey_b.id, RATES, route=VK_THEN_SMS)])
    await run_until_final(hub, clock, [note_a.id, note_b.id])

    for key, note, other in ((made_a.api_key, note_a, note_b), (made_b.api_key, note_b, note_a)):
        thread = await _thread(api, key, RATES)
        assert thread is not None
        inbound = [m for m in thread["messages"] if m["direction"] == "in"]
        assert [(m["text"], m["notification_id"], m["rating"]) for m in inbound] == [
            ("5, всё отлично", note.id, 5)
        ]
        view = await (await api.get(f"/v1/notifications/{note.id}", headers=_auth(key))).json()
        assert [r["text"] for r in view["replies"]] == ["5, всё отлично"]
        assert (await api.get(f"/v1/notifications/{other.id}", headers=_auth(key))).status == 404


async def test_a_customer_writing_in_one_clients_sandbox_is_not_seen_by_another(
    hub: Hub, clock: FakeClock, aiohttp_client: MakeClient
) -> None:
    api = await aiohttp_client(create_app(hub, run_workers=False))
    made_a, a = await new_client(hub, "A")
    made_b, b = await new_client(hub, "B")
    for client in (a, b):  # both know the customer (and the VK account) already
        template = await approved_template(hub, client.id)
        [note] = await accept(hub, client, [notify_item(template.id, RATES, route=VK_THEN_SMS)])
        await run_until_final(hub, clock, [note.id])
    written = await api.post(
        "/v1/sandbox/inbound",
        json={"phone": RATES, "channel": "vk", "text": "а можно доставить вечером?"},
        headers=_auth(made_a.api_key),
    )
    assert written.status == 202
    thread_a = await _thread(api, made_a.api_key, RATES)
    thread_b = await _thread(api, made_b.api_key, RATES)
    assert thread_a is not None and thread_b is not None
    assert (await written.json())["thread_id"] == thread_a["id"]
    assert "а можно доставить вечером?" in [m["text"] for m in thread_a["messages"]]
    assert "а можно доставить вечером?" not in [m["text"] for m in thread_b["messages"]]
    assert thread_a["needs_agent"] and not thread_b["needs_agent"]


async def test_a_live_clients_customer_with_a_sandbox_number_gets_no_made_up_accounts(
    hub: Hub, aiohttp_client: MakeClient
) -> None:
    api = await aiohttp_client(create_app(hub, run_workers=False))
    made, client = await new_client(hub, "Live")
    await add_connection(hub.uow(), client.id, "sms", {"api_base_url": "http://sms.invalid", "token": "t"}, 0)
    template = await approved_template(hub, client.id)
    await accept(hub, client, [notify_item(template.id, "+79990000001", route=[{"channel": "sms"}])])
    contact = await (await api.get("/v1/contacts/+79990000001", headers=_auth(made.api_key))).json()
    assert contact["identities"] == []  # the sandbox's VK id 1001 is someone real on the real VK
    refused = await api.post(
        "/v1/sandbox/inbound",
        json={"phone": "+79990000001", "channel": "vk", "text": "hi"},
        headers=_auth(made.api_key),
    )
    assert refused.status == 409 and (await refused.json())["error"]["code"] == "client_is_live"
