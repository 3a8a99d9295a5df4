"""Each VK/Telegram long-poll connection is read by one process at a time, cluster-wide.

Two hubs on one database stand for two worker processes. The one holding a connection's lease
reads it; the other does not, until the holder dies and its lease runs out
(`readers.lease_seconds`), or until the holder stops cleanly and gives the lease back.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from hub.bootstrap import Hub, build_hub
from hub.channels.connections import add_connection
from hub.channels.readers import ConnectionReaders, run_connections
from tests.conftest import make_config
from tests.fakes.clock import FakeClock
from tests.fakes.telegram_api import FakeTelegramApi
from tests.fakes.vk_api import FakeVkApi, message_new
from tests.support.real_adapters import link_customer, until
from tests.support.scenario import new_client


@pytest.fixture
async def other(db_url: str, clock: FakeClock) -> AsyncIterator[Hub]:
    """A second hub process on the same database."""
    wired = build_hub(make_config(db_url), clock=clock)
    yield wired
    await wired.aclose()


async def _connect(hub: Hub, vk: FakeVkApi, tg: FakeTelegramApi) -> tuple[str, set[int]]:
    _, client = await new_client(hub)
    vk_settings = {"group_id": vk.group_id, "token": vk.token, "api_base_url": vk.api_base_url}
    tg_settings = {"token": tg.token, "api_base_url": tg.url}
    now = hub.clock.now()
    made = [
        await add_connection(hub.uow(), client.id, "vk", vk_settings, now, mode="longpoll"),
        await add_connection(hub.uow(), client.id, "telegram", tg_settings, now, mode="longpoll"),
    ]
    return client.id, {c.id for c in made}


def _vk_readers_started(vk: FakeVkApi) -> int:
    """Each VK reader starts by asking for a long-poll server."""
    return sum(1 for name, _, _ in vk.requests if name == "groups.getLongPollServer")


async def test_one_process_reads_and_another_takes_over_when_it_dies(
    hub: Hub, other: Hub, clock: FakeClock
) -> None:
    lease = hub.config.readers.lease_seconds
    async with FakeVkApi() as vk, FakeTelegramApi() as tg:
        _, both = await _connect(hub, vk, tg)
        first, second = ConnectionReaders(hub), ConnectionReaders(other)
        try:
            for _ in range(3):  # both keep looking a few times: only the holder reads
                await first.tick()
                await second.tick()
                assert (first.reading, second.reading) == (both, set())
                clock.advance(lease / 3)
            await until(lambda: _true(_vk_readers_started(vk) == 1), "the holder's VK reader started")

            await first.close(release=False)  # the holder dies: no clean stop, no more renewals
            await second.tick()
            assert second.reading == set()  # its lease has not run out yet
            clock.advance(lease)
            await second.tick()
            assert second.reading == both  # taken over once the lease ran out
            async with other.uow() as uow:
                holders = await uow.reader_leases.holders()
            assert {cid: holder for cid, (holder, _) in holders.items()} == dict.fromkeys(both, other.holder)
            await until(lambda: _true(_vk_readers_started(vk) == 2), "the new holder's VK reader started")
        finally:
            await first.close()
            await second.close()


async def test_a_clean_stop_hands_the_connection_over_at_once(hub: Hub, other: Hub) -> None:
    async with FakeVkApi() as vk, FakeTelegramApi() as tg:
        _, both = await _connect(hub, vk, tg)
        first, second = ConnectionReaders(hub), ConnectionReaders(other)
        try:
            await first.tick()
            await second.tick()
            assert second.reading == set()
            await first.close()  # gives its leases back
            await second.tick()
            assert second.reading == both  # no waiting out the lease
        finally:
            await second.close()


async def test_two_worker_processes_poll_vk_once_and_store_each_reply_once(hub: Hub, other: Hub) -> None:
    async with FakeVkApi() as vk, FakeTelegramApi() as tg:
        client_id, _ = await _connect(hub, vk, tg)
        contact = await link_customer(hub, client_id, "+79161110001", vk="2001")
        stop = asyncio.Event()
        tasks = [asyncio.create_task(run_connections(h, stop, interval=0.05)) for h in (hub, other)]
        try:
            await until(lambda: _true(bool(vk.lp_requests)), "a reader polled VK")
            await until(
                lambda: _true(bool(other.channels.links()) and bool(hub.channels.links())), "both loaded"
            )
            vk.push(message_new("e1", from_id=2001, text="привет", message_id=501))
            await until(lambda: _stored(hub, contact, 1), "the reply stored")
            for _ in range(3):  # let both supervisors go round a few more times
                await until(lambda: _true(bool(vk.lp_requests)), "polling goes on")
                await asyncio.sleep(0.1)
        finally:
            stop.set()
            await asyncio.gather(*tasks)
        assert _vk_readers_started(vk) == 1
        assert len({q["key"] for q in vk.lp_requests}) == 1  # one reader's key polled, never two
        assert sum(1 for method, _ in tg.requests if method == "getUpdates") >= 1


async def _true(value: bool) -> bool:
    return value


async def _stored(hub: Hub, contact_id: str, count: int) -> bool:
    async with hub.uow() as uow:
        return len(await uow.inbound.for_contact(contact_id)) >= count
