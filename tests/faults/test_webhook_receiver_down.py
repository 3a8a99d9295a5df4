"""The client's webhook receiver down for hours, then back while customers' replies keep arriving.

Replies come in as VK Callback API posts through the real ingress; the webhook sender runs in the
background. Afterwards every reply is stored once, and every webhook event the replies caused
(`reply.received`, `thread.needs_agent`, ...) reached the receiver exactly once, in order per thread.
"""

from __future__ import annotations

import asyncio
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable

from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

from benchmarks.inbound import SECRET, update
from hub.api.app import create_app
from hub.bootstrap import Hub
from hub.channels.connections import add_connection
from storage.models import WebhookDelivery
from tests.fakes.clock import FakeClock
from tests.faults.accounting import eventually, inbound, rows, twice
from tests.faults.conftest import RecordFault
from tests.support.real_adapters import link_customer
from tests.support.scenario import new_client
from tests.support.webhook_receiver import Receiver

MakeClient = Callable[..., Awaitable[TestClient]]  # type: ignore[type-arg]
MakeServer = Callable[..., Awaitable[TestServer]]
CUSTOMERS = 6
MESSAGES = 5  # per customer: 3 while the receiver is down, 2 more while it comes back


def _reply(customer: int, message: int) -> int:
    """The benchmark's reply number: its VK peer is 700000 + customer, its message id unique."""
    return customer + 1000 * message


async def _post_replies(
    api: TestClient, connection: str, messages: range, first_answered: asyncio.Event
) -> None:
    """Each customer writes `messages` in order (customers concurrently); each must get 200."""

    async def customer(c: int) -> None:
        for m in messages:
            resp = await api.post(f"/channels/vk/{connection}", data=update(_reply(c, m)))
            assert resp.status == 200, await resp.text()
            first_answered.set()

    await asyncio.gather(*(customer(c) for c in range(CUSTOMERS)))


async def test_receiver_down_then_back_with_replies_in_flight(
    hub: Hub,
    clock: FakeClock,
    aiohttp_client: MakeClient,
    aiohttp_server: MakeServer,
    record_fault: RecordFault,
) -> None:
    receiver = Receiver(up=False, verify=False)  # the pretend clock runs hours ahead of the signatures'
    server = await aiohttp_server(receiver.app())
    api = await aiohttp_client(create_app(hub, run_workers=False))
    created, client = await new_client(hub)
    auth = {"Authorization": f"Bearer {created.api_key}"}
    assert (
        await api.post("/v1/webhooks", json={"url": str(server.make_url("/hook"))}, headers=auth)
    ).status == 201
    settings = {
        "group_id": 1,
        "token": "t",
        "secret": SECRET,
        "confirmation": "c",
        "api_base_url": "http://127.0.0.1:9",
    }
    connection = await add_connection(hub.uow(), client.id, "vk", settings, hub.clock.now(), mode="callback")
    for c in range(CUSTOMERS):
        await link_customer(hub, client.id, f"+791677700{c:02d}", vk=str(700000 + c))
    sender, stop = hub.webhook_sender, asyncio.Event()
    assert sender is not None
    running = asyncio.create_task(sender.run(stop, idle=0.02))
    try:
        await _post_replies(api, connection.callback_token, range(3), asyncio.Event())
        await eventually(lambda: _heads_refused(hub, clock, 3), "each thread's first webhook refused 3 times")
        answered = asyncio.Event()
        token = connection.callback_token
        posting = asyncio.create_task(_post_replies(api, token, range(3, MESSAGES), answered))
        await answered.wait()
        receiver.up = True  # back while replies are still arriving
        await eventually(lambda: _all_delivered(hub, clock, posting), "every webhook delivered", 120)
        await posting
    finally:
        stop.set()
        await running

    replies = [str(10_000 + _reply(c, m)) for c in range(CUSTOMERS) for m in range(MESSAGES)]
    result = await inbound(hub, replies)
    assert (result.stored_once, result.lost, result.stored_twice) == (len(replies), 0, 0)
    deliveries = {d.id: (d.order_key, d.seq) for (d,) in await rows(hub, select(WebhookDelivery))}
    got = Counter(r.id for r in receiver.got)
    assert set(got) == set(deliveries) and twice(got) == 0  # every event once, none lost
    assert Counter(r.type for r in receiver.got)["reply.received"] == len(replies)
    arrived: dict[str, list[int]] = defaultdict(list)
    for r in receiver.got:
        key, seq = deliveries[r.id]
        arrived[key].append(seq)
    assert all(seqs == sorted(seqs) for seqs in arrived.values())  # in order per thread
    record_fault(
        "webhook receiver down, then back",
        f"{len(replies)} replies, {receiver.refused} attempts refused",
        f"{result.stored_once}/{len(replies)} replies once, {len(got)}/{len(deliveries)} webhooks once",
        result.lost + len(set(deliveries) - set(got)),
        result.stored_twice + twice(got),
    )


async def _tick(hub: Hub, clock: FakeClock) -> None:
    """Move pretend time on, by less than a lease and only while no attempt holds one.

    Pretend time must not expire the lease of an attempt still under way (real time never could:
    each attempt has a timeout well inside its lease).
    """
    leased = select(WebhookDelivery.id).where(WebhookDelivery.claimed_until.is_not(None))
    if not await rows(hub, leased):
        clock.advance(30)


async def _heads_refused(hub: Hub, clock: FakeClock, times: int) -> bool:
    """True once the first delivery of every thread (the others wait behind it) was tried `times`."""
    attempts = [a for (a,) in await rows(hub, select(WebhookDelivery.attempts))]
    if sum(1 for a in attempts if a >= times) >= CUSTOMERS:
        return True
    await _tick(hub, clock)
    return False


async def _all_delivered(hub: Hub, clock: FakeClock, posting: asyncio.Task[None]) -> bool:
    """True once replies stopped arriving and no delivery is pending."""
    async with hub.uow() as uow:
        pending = await uow.webhooks.pending_count()
    if posting.done() and not pending:
        return True
    await _tick(hub, clock)
    return False
