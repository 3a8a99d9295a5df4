"""A webhook goes out once even when its lease runs out while it is still being attempted.

A lease is measured on the hub's clock, which can jump (a stepped wall clock, a stalled process; the
pretend clock here). The running sender must not claim again a delivery it is still attempting, nor
attempt twice one that the claim loop and a fresh commit both hand it; and an outcome that arrives
after another sender took the delivery over must not undo what that sender recorded.

Each test holds one attempt at the receiver, moves the clock past the lease, and lets the sender make
a claim (proved by a second delivery queued for the claim loop arriving) before letting it go.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from hub.api.app import create_app
from hub.bootstrap import Hub
from hub.webhooks import events as webhooks
from hub.webhooks.sender import RetryPolicy, WebhookSender
from storage.models import WebhookDelivery
from tests.fakes.clock import FakeClock
from tests.support.real_adapters import until
from tests.support.scenario import new_client

MakeClient = Callable[..., Awaitable[TestClient]]  # type: ignore[type-arg]
MakeServer = Callable[..., Awaitable[TestServer]]
#: Real seconds an attempt may take: the held one must not time out while the test goes on.
PATIENT = RetryPolicy(timeout=120.0)
#: Pretend seconds that take the clock well past any lease taken before.
PAST_THE_LEASE = 3600.0


@dataclass
class HoldingReceiver:
    """Holds the first request it gets until `release`, then answers it `held_status`; answers every
    other request 200 at once. Keeps the ids of the requests it answered 200, in order."""

    held_status: int = 200
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    release: asyncio.Event = field(default_factory=asyncio.Event)
    got: list[str] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.Response:
        await request.read()
        msg_id = request.headers["webhook-id"]
        if not self.arrived.is_set():
            self.arrived.set()
            await self.release.wait()
            if self.held_status != 200:
                return web.Response(status=self.held_status)
        self.got.append(msg_id)
        return web.json_response({"ok": True})

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/hook", self.handle)
        return app


@dataclass
class Setup:
    hub: Hub
    clock: FakeClock
    client_id: str
    receiver: HoldingReceiver


async def _setup(hub: Hub, clock: FakeClock, api_client: MakeClient, make_server: MakeServer) -> Setup:
    receiver = HoldingReceiver()
    server = await make_server(receiver.app())
    api = await api_client(create_app(hub, run_workers=False))
    created, client = await new_client(hub)
    auth = {"Authorization": f"Bearer {created.api_key}"}
    resp = await api.post("/v1/webhooks", json={"url": str(server.make_url("/hook"))}, headers=auth)
    assert resp.status == 201
    return Setup(hub, clock, client.id, receiver)


async def _queue(s: Setup, thread: str, *, hand: bool, move_clock: float = 0.0) -> str:
    """Queue one event of `thread` (handed to the running sender, or left to claims); its delivery id.

    `move_clock` moves the clock on after the event was queued and before the commit."""
    event = webhooks.Event(s.client_id, "reply.received", thread, {"thread": thread})
    async with s.hub.uow() as uow:
        if not hand:
            uow.handoff = None  # as queued by a process whose sender does not run
        await webhooks.emit(uow, [event], s.clock.now())
        queued = await uow.webhooks.log(s.client_id, status=None, endpoint_id=None, limit=100, before=None)
        s.clock.advance(move_clock)
        await uow.commit()
    [delivery] = [d for d in queued if d.order_key == thread]
    return delivery.id


async def _claim_pass_after(s: Setup, sender: WebhookSender) -> None:
    """Queue a delivery for the claim loop and wait until it arrived: a claim ran after this point."""
    witness = await _queue(s, "witness", hand=False)
    sender.poke()
    await until(lambda: _true(witness in s.receiver.got), "the claim loop took a newly queued delivery")


async def _true(value: bool) -> bool:
    return value


async def _row(s: Setup, delivery_id: str) -> WebhookDelivery:
    async with s.hub.uow() as uow:
        rows = await uow.webhooks.log(s.client_id, status=None, endpoint_id=None, limit=100, before=None)
    [row] = [d for d in rows if d.id == delivery_id]
    return row


@asynccontextmanager
async def _running(sender: WebhookSender, receiver: HoldingReceiver) -> AsyncIterator[None]:
    """The sender's loop runs in the block; leaving it lets the held request go and stops the sender,
    which lets every attempt under way finish and records their outcomes."""
    stop = asyncio.Event()
    task = asyncio.create_task(sender.run(stop))
    try:
        await until(lambda: _true(sender.accepts("any")), "the sender runs")
        yield
    finally:
        receiver.release.set()
        stop.set()
        await task


async def test_a_delivery_still_being_attempted_is_not_claimed_again_when_its_lease_runs_out(
    hub: Hub, clock: FakeClock, aiohttp_client: MakeClient, aiohttp_server: MakeServer
) -> None:
    s = await _setup(hub, clock, aiohttp_client, aiohttp_server)
    sender = hub.webhook_sender
    assert sender is not None
    sender.policy = PATIENT
    async with _running(sender, s.receiver):
        first = await _queue(s, "thread-1", hand=True)  # straight from the commit
        await s.receiver.arrived.wait()
        clock.advance(PAST_THE_LEASE)  # the attempt is still under way
        await _claim_pass_after(s, sender)
        s.receiver.release.set()
        await until(lambda: _pending_is(s, 0), "every delivery done")
    assert Counter(s.receiver.got)[first] == 1
    assert (await _row(s, first)).status == "delivered"


async def test_a_delivery_both_claimed_and_handed_from_a_commit_is_attempted_once(
    hub: Hub, clock: FakeClock, aiohttp_client: MakeClient, aiohttp_server: MakeServer
) -> None:
    """The claim loop can take a committed delivery before the commit hands it over (its lease ran
    out meanwhile); the hand-over must then not start a second attempt."""
    s = await _setup(hub, clock, aiohttp_client, aiohttp_server)
    sender = hub.webhook_sender
    assert sender is not None
    sender.policy = PATIENT
    async with _running(sender, s.receiver):
        first = await _queue(s, "thread-1", hand=False)
        sender.poke()
        await s.receiver.arrived.wait()  # the claim loop's attempt
        committed = await _row(s, first)
        async with hub.uow() as uow:
            endpoints = await uow.webhooks.endpoints_by_id({committed.endpoint_id})
        sender.hand([committed], endpoints)  # what the commit's hand-over does, a moment late
        await _claim_pass_after(s, sender)
        s.receiver.release.set()
        await until(lambda: _pending_is(s, 0), "every delivery done")
    assert Counter(s.receiver.got)[first] == 1


async def test_a_delivery_handed_after_its_lease_ran_out_is_sent_once(
    hub: Hub, clock: FakeClock, aiohttp_client: MakeClient, aiohttp_server: MakeServer
) -> None:
    """A commit that takes longer than the lease hands over a delivery any claim may take again."""
    s = await _setup(hub, clock, aiohttp_client, aiohttp_server)
    sender = hub.webhook_sender
    assert sender is not None
    sender.policy = PATIENT
    async with _running(sender, s.receiver):
        first = await _queue(s, "thread-1", hand=True, move_clock=PAST_THE_LEASE)
        await s.receiver.arrived.wait()
        await _claim_pass_after(s, sender)
        s.receiver.release.set()
        await until(lambda: _pending_is(s, 0), "every delivery done")
    assert Counter(s.receiver.got)[first] == 1


async def test_an_outcome_recorded_after_another_sender_took_the_delivery_over_changes_nothing(
    hub: Hub, clock: FakeClock, aiohttp_client: MakeClient, aiohttp_server: MakeServer
) -> None:
    """Two senders (two processes): the first one's attempt outlives its lease, the second takes the
    delivery and delivers it; the first attempt then fails, and that must not make it pending again."""
    s = await _setup(hub, clock, aiohttp_client, aiohttp_server)
    slow, other = WebhookSender(hub.uow, clock, PATIENT), WebhookSender(hub.uow, clock, PATIENT)
    try:
        s.receiver.held_status = 503
        first = await _queue(s, "thread-1", hand=False)
        first_attempt = asyncio.create_task(slow.run_once())
        await s.receiver.arrived.wait()
        clock.advance(PAST_THE_LEASE)
        assert await other.run_once() == 1  # the lease ran out: the other sender takes it and delivers
        s.receiver.release.set()
        assert await first_attempt == 1  # the first attempt's late failure is recorded now
        clock.advance(PAST_THE_LEASE)
        assert await other.run_once() == 0  # nothing left to retry
    finally:
        s.receiver.release.set()
        await slow.aclose()
        await other.aclose()
    assert Counter(s.receiver.got)[first] == 1
    row = await _row(s, first)
    assert (row.status, row.attempts, row.last_status) == ("delivered", 1, 200)


async def _pending_is(s: Setup, count: int) -> bool:
    async with s.hub.uow() as uow:
        return await uow.webhooks.pending_count() == count
