"""A long-poll reader stopped and started again resumes at its stored cursor: nothing lost or re-read."""

from __future__ import annotations

import asyncio

from hub.bootstrap import Hub
from hub.channels.connections import add_connection
from hub.channels.readers import run_connections
from tests.fakes.vk_api import FakeVkApi, message_new
from tests.support.real_adapters import link_customer, until
from tests.support.scenario import new_client


async def _stored(hub: Hub, contact_id: str) -> list[str]:
    async with hub.uow() as uow:
        return [m.text for m in await uow.inbound.for_contact(contact_id)]


async def _read_until(hub: Hub, vk: FakeVkApi, contact_id: str, count: int, push: range = range(0)) -> None:
    stop = asyncio.Event()
    task = asyncio.create_task(run_connections(hub, stop, interval=0.05))
    try:
        polled = len(vk.lp_requests)
        await until(lambda: _true(len(vk.lp_requests) > polled), "the reader polled")
        for n in push:  # a first start reads from "now", as VK's getLongPollServer gives it
            vk.push(message_new(f"e{n}", from_id=2001, text=f"reply {n}", message_id=500 + n))
        await until(lambda: _has(hub, contact_id, count), f"{count} replies stored")
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)


async def _true(value: bool) -> bool:
    return value


async def _has(hub: Hub, contact_id: str, count: int) -> bool:
    return len(await _stored(hub, contact_id)) >= count


async def test_vk_reader_resumes_after_restart_without_loss_or_repeats(hub: Hub) -> None:
    async with FakeVkApi() as vk:
        _, client = await new_client(hub)
        settings = {"group_id": vk.group_id, "token": vk.token, "api_base_url": vk.api_base_url}
        conn = await add_connection(hub.uow(), client.id, "vk", settings, hub.clock.now(), mode="longpoll")
        contact = await link_customer(hub, client.id, "+79161110001", vk="2001")
        await _read_until(hub, vk, contact, 3, push=range(3))
        async with hub.uow() as uow:
            saved = await uow.connections.get(conn.id)
        assert saved is not None and saved.cursor == str(vk.next_ts)

        for n in range(3, 5):  # the customer keeps writing while the hub is down
            vk.push(message_new(f"e{n}", from_id=2001, text=f"reply {n}", message_id=500 + n))
        polled_before = len(vk.lp_requests)
        await _read_until(hub, vk, contact, 5)

        assert await _stored(hub, contact) == [f"reply {n}" for n in range(5)]
        resumed_at = int(vk.lp_requests[polled_before]["ts"])
        assert resumed_at == int(saved.cursor)  # resumed where it stopped, not from the start
