"""Client webhooks: a receiver down for hours then back, slow/failing/redirecting endpoints, replay."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bots.base import InboundMessage
from hub.api.app import create_app
from hub.bootstrap import Hub
from hub.webhooks.sender import RetryPolicy
from tests.fakes.clock import FakeClock
from tests.support.real_adapters import link_customer, until
from tests.support.scenario import new_client
from tests.support.webhook_receiver import Receiver

MakeClient = Callable[..., Awaitable[TestClient]]  # type: ignore[type-arg]
MakeServer = Callable[..., Awaitable[TestServer]]


async def _endpoint(api: TestClient, key: str, url: str) -> dict:  # type: ignore[type-arg]
    resp = await api.post("/v1/webhooks", json={"url": url, "events": ["reply.received"]}, headers=_auth(key))
    assert resp.status == 201
    return dict(await resp.json())


def _auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def _say(hub: Hub, vk_id: str, text: str, n: int) -> None:
    at = datetime.fromtimestamp(hub.clock.now(), UTC)
    await hub.ingest.apply([InboundMessage("vk", vk_id, text, f"{vk_id}-{n}", at)])


async def _pending(hub: Hub) -> int:
    async with hub.uow() as uow:
        return await uow.webhooks.pending_count()


async def test_receiver_down_for_hours_then_back_gets_everything_once_in_order(
    hub: Hub, clock: FakeClock, aiohttp_client: MakeClient, aiohttp_server: MakeServer
) -> None:
    receiver = Receiver(verify=False)  # the pretend clock runs hours ahead of real time
    server = await aiohttp_server(receiver.app())
    api = await aiohttp_client(create_app(hub, run_workers=False))
    created, client = await new_client(hub)
    await _endpoint(api, created.api_key, str(server.make_url("/hook")))
    customers = {str(2000 + n): f"+7916111000{n}" for n in range(1, 4)}
    for vk_id, phone in customers.items():
        await link_customer(hub, client.id, phone, vk=vk_id)
    sender = hub.webhook_sender
    assert sender is not None
    receiver.up = False
    for n in range(4):  # customers keep writing while the receiver is down
        for vk_id in customers:
            await _say(hub, vk_id, f"{vk_id} message {n}", n)
        await sender.run_once()
        clock.advance(1800)
        await sender.run_once()
    assert receiver.refused > 0 and not receiver.got
    for _ in range(6):  # still down for hours: retries back off
        clock.advance(3600)
        await sender.run_once()
    receiver.up = True
    for _ in range(40):
        clock.advance(3600)
        while await sender.run_once():
            pass
        if not await _pending(hub):
            break
    assert await _pending(hub) == 0
    ids = [r.id for r in receiver.got]
    assert len(ids) == len(set(ids)) == 12  # every event once
    for vk_id in customers:
        texts = [r.data["text"] for r in receiver.got if r.data["text"].startswith(vk_id)]
        assert texts == [f"{vk_id} message {n}" for n in range(4)]  # in order per thread


async def test_bad_endpoints_never_block_other_clients(
    hub: Hub, aiohttp_client: MakeClient, aiohttp_server: MakeServer
) -> None:
    hang = asyncio.Event()

    async def hung(request: web.Request) -> web.Response:
        await hang.wait()
        return web.Response()

    async def broken(request: web.Request) -> web.Response:
        return web.Response(status=500)

    async def moved(request: web.Request) -> web.Response:
        raise web.HTTPFound(location="/elsewhere")

    bad = web.Application()
    bad.router.add_post("/hang", hung)
    bad.router.add_post("/500", broken)
    bad.router.add_post("/redirect", moved)
    bad_server = await aiohttp_server(bad)
    receiver = Receiver()
    good_server = await aiohttp_server(receiver.app())
    api = await aiohttp_client(create_app(hub, run_workers=False))
    assert hub.webhook_sender is not None
    hub.webhook_sender.policy = RetryPolicy(timeout=60)
    for n, path in enumerate(("/hang", "/500", "/redirect")):
        made, client = await new_client(hub, f"Bad {n}")
        await _endpoint(api, made.api_key, str(bad_server.make_url(path)))
        await link_customer(hub, client.id, f"+7916222000{n}", vk=f"30{n}")
    good, good_client = await new_client(hub, "Good")
    receiver.secret = (await _endpoint(api, good.api_key, str(good_server.make_url("/hook"))))["secret"]
    await link_customer(hub, good_client.id, "+79163330001", vk="400")
    for vk_id in ("300", "301", "302", "400"):
        await _say(hub, vk_id, "где заказ?", 1)
    stop = asyncio.Event()
    task = asyncio.create_task(hub.webhook_sender.run(stop))
    try:
        await until(lambda: _true(len(receiver.got) == 1), "the good client's webhook arrived")

        async def recorded() -> bool:
            log = await (await api.get("/v1/webhooks/deliveries", headers=_auth(good.api_key))).json()
            return [d["status"] for d in log["deliveries"]] == ["delivered"]

        await until(recorded, "the good client's delivery recorded as delivered")
        assert not hang.is_set()  # ... while the hung endpoint is still holding its request
    finally:
        hang.set()
        stop.set()
        await task
    async with hub.uow() as uow:
        errors = {d.last_error for d in await uow.webhooks.log_all_pending()}
    assert {"HTTP 500", "HTTP 302"} <= errors  # failed, not followed, to be retried by the schedule


async def _true(value: bool) -> bool:
    return value


async def test_running_sender_takes_fresh_events_at_once_and_keeps_thread_order(
    hub: Hub, clock: FakeClock, aiohttp_client: MakeClient, aiohttp_server: MakeServer
) -> None:
    """The sender running in the hub's process gets new events straight from the commit; an event
    behind a failed one of the same thread waits for it, then all arrive once, in order."""
    receiver = Receiver(verify=False)
    server = await aiohttp_server(receiver.app())
    api = await aiohttp_client(create_app(hub, run_workers=False))
    created, client = await new_client(hub)
    await _endpoint(api, created.api_key, str(server.make_url("/hook")))
    customers = {str(2100 + n): f"+7916111200{n}" for n in range(1, 4)}
    for vk_id, phone in customers.items():
        await link_customer(hub, client.id, phone, vk=vk_id)
    sender = hub.webhook_sender
    assert sender is not None
    stop = asyncio.Event()
    task = asyncio.create_task(sender.run(stop))
    try:
        await until(lambda: _true(sender.accepts("any")), "the sender runs")
        await _say(hub, "2101", "2101 message 0", 0)
        await until(lambda: _true(len(receiver.got) == 1), "a fresh event delivered without a claim")
        receiver.up = False
        for n in range(1, 4):  # the receiver fails: later events of each thread queue behind
            for vk_id in customers:
                await _say(hub, vk_id, f"{vk_id} message {n}", n)
        await until(lambda: _true(receiver.refused >= 3), "the first attempts failed")
        receiver.up = True
        for _ in range(60):  # retries come due on the pretend clock; the running loop claims them
            clock.advance(600)
            if not await _pending(hub):
                break
            await asyncio.sleep(0.25)
        await until(lambda: _pending_is(hub, 0), "every delivery done")
    finally:
        stop.set()
        await task
    ids = [r.id for r in receiver.got]
    assert len(ids) == len(set(ids)) == 10  # every event once
    for vk_id in customers:
        texts = [r.data["text"] for r in receiver.got if r.data["text"].startswith(vk_id)]
        first = 0 if vk_id == "2101" else 1
        assert texts == [f"{vk_id} message {n}" for n in range(first, 4)]  # in order per thread


async def _pending_is(hub: Hub, count: int) -> bool:
    return await _pending(hub) == count


async def test_dead_deliveries_replay_and_rotation(
    hub: Hub, clock: FakeClock, aiohttp_client: MakeClient, aiohttp_server: MakeServer
) -> None:
    receiver = Receiver(up=False, verify=False)
    server = await aiohttp_server(receiver.app())
    api = await aiohttp_client(create_app(hub, run_workers=False))
    created, client = await new_client(hub)
    hook = await _endpoint(api, created.api_key, str(server.make_url("/hook")))
    await link_customer(hub, client.id, "+79161110001", vk="2001")
    await _say(hub, "2001", "привет", 1)
    assert hub.webhook_sender is not None
    for _ in range(40):  # a whole day of failures: the delivery dies
        await hub.webhook_sender.run_once()
        clock.advance(3600)
    auth = _auth(created.api_key)
    log = await (await api.get("/v1/webhooks/deliveries", params={"status": "dead"}, headers=auth)).json()
    [dead] = log["deliveries"]
    assert dead["attempts"] > 5 and dead["last_error"] == "HTTP 503"
    receiver.up = True
    rotated = await (await api.post(f"/v1/webhooks/{hook['id']}/rotate", headers=auth)).json()
    assert rotated["secret"] != hook["secret"] and rotated["secret"].startswith("whsec_")
    receiver.secret, receiver.verify = rotated["secret"], False
    replay = await api.post("/v1/webhooks/replay", json={"ids": [dead["id"]]}, headers=auth)
    assert (await replay.json())["replayed"] == 1
    await hub.webhook_sender.run_once()
    assert [r.id for r in receiver.got] == [dead["id"]]  # the same webhook-id: receivers can dedupe
    listed = await (await api.get("/v1/webhooks", headers=auth)).json()
    assert "secret" not in listed["webhooks"][0]
    assert (await api.delete(f"/v1/webhooks/{hook['id']}", headers=auth)).status == 204
    assert (await (await api.get("/v1/webhooks", headers=auth)).json())["webhooks"] == []
