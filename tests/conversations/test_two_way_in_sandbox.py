"""Issue 6 must-show, sandbox: notification out, reply in, classified, acted on, webhook, agent answer."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp.test_utils import TestClient, TestServer

from hub.api.app import create_app
from hub.bootstrap import Hub
from tests.fakes.clock import FakeClock
from tests.support.scenario import (
    ALL_CHANNELS,
    accept,
    approved_template,
    deliver_webhooks,
    new_client,
    notify_item,
    run_until_final,
    step,
    thread_of,
)
from tests.support.webhook_receiver import Receiver

MakeClient = Callable[..., Awaitable[TestClient]]  # type: ignore[type-arg]
MakeServer = Callable[..., Awaitable[TestServer]]
STOP, RATES, ASKS, TELEGRAM = "+79990000004", "+79990000005", "+79990000006", "+79990000007"
ADMIN = {"Authorization": "Bearer admin-secret"}


async def test_sandbox_two_way_flow(
    hub: Hub, clock: FakeClock, aiohttp_client: MakeClient, aiohttp_server: MakeServer
) -> None:
    receiver = Receiver()
    server = await aiohttp_server(receiver.app())
    api = await aiohttp_client(create_app(hub, run_workers=False))
    created, client = await new_client(hub)
    auth = {"Authorization": f"Bearer {created.api_key}"}
    hook = await api.post("/v1/webhooks", json={"url": str(server.make_url("/hook"))}, headers=auth)
    assert hook.status == 201
    receiver.secret = (await hook.json())["secret"]
    assert receiver.secret.startswith("whsec_")
    template = await approved_template(hub, client.id, context="survey")
    phones = [STOP, RATES, ASKS, TELEGRAM]
    accepted = await accept(hub, client, [notify_item(template.id, p, route=ALL_CHANNELS) for p in phones])
    await run_until_final(hub, clock, [a.id for a in accepted])
    await deliver_webhooks(hub)

    stop = await thread_of(api, created.api_key, STOP)
    assert [(m["direction"], m.get("label")) for m in stop["messages"]][:2] == [
        ("in", "opt_out"),
        ("out", None),
    ]
    outgoing = [m for m in stop["messages"] if m["direction"] == "out"]
    assert len(outgoing) == 1 and outgoing[0]["text"].startswith("Вы отписаны")  # one confirmation, Russian
    assert outgoing[0]["delivery"]["status"] in ("delivered", "read") and outgoing[0]["channel"] == "vk"
    contact = await (await api.get(f"/v1/contacts/{STOP}", headers=auth)).json()
    assert contact["opted_out"] is True

    rates = await thread_of(api, created.api_key, RATES)
    assert rates["messages"][0]["label"] == "rating" and rates["messages"][0]["rating"] == 5
    survey = await (
        await api.get("/v1/surveys/results", params={"template_id": template.id}, headers=auth)
    ).json()
    assert survey["answered"] == 4 and survey["distribution"]["5"] == 1 and survey["csat"] == 1.0

    asks = await thread_of(api, created.api_key, ASKS)
    assert asks["needs_agent"] is True and asks["messages"][0]["label"] == "question"
    tg = await thread_of(api, created.api_key, TELEGRAM)
    assert tg["last_channel"] == "telegram" and tg["messages"][0]["label"] == "other"

    types = receiver.types()
    assert types.count("reply.received") >= 4 and types.count("contact.opted_out") == 1
    assert "thread.needs_agent" in types and "notification.read" in types
    replies = {r.data["phone"]: r.data for r in receiver.got if r.type == "reply.received"}
    assert replies[RATES]["label"] == "rating" and replies[RATES]["rating"] == 5
    assert replies[RATES]["notification_id"] == accepted[1].id

    agent = await api.post("/v1/admin/agents", json={"client_id": client.id, "name": "olga"}, headers=ADMIN)
    agent_auth = {"Authorization": f"Bearer {(await agent.json())['api_key']}"}
    answer = await api.post(
        f"/v1/threads/{asks['id']}/messages", json={"text": "Завтра до 18:00"}, headers=agent_auth
    )
    assert answer.status == 202
    for _ in range(8):
        await step(hub, clock)
    asks = await thread_of(api, created.api_key, ASKS)
    [sent] = [m for m in asks["messages"] if m["direction"] == "out"]
    assert sent["author"] == "agent:olga" and sent["channel"] == "vk"
    assert sent["delivery"]["status"] in ("delivered", "read")
    resolved = await api.post(f"/v1/threads/{asks['id']}/resolve", headers=agent_auth)
    assert (await resolved.json())["status"] == "resolved"
