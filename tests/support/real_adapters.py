"""Helpers for driving a hub whose client has real connections to the fake platforms."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from hub.bootstrap import Hub
from hub.channels.connections import add_connection
from hub.ids import new_id
from storage.models import Connection
from storage.repos.contacts import contact_row
from tests.fakes.clock import FakeClock
from tests.fakes.sms_gateway import FakeSmsGateway
from tests.fakes.telegram_api import FakeTelegramApi
from tests.fakes.vk_api import FakeVkApi


async def connect_fakes(
    hub: Hub, client_id: str, vk: FakeVkApi, tg: FakeTelegramApi, gw: FakeSmsGateway
) -> dict[str, Connection]:
    """VK (long poll, callback secret), Telegram (getUpdates) and an SMS gateway route, then reload."""
    now = hub.clock.now()
    vk_settings = {
        "group_id": vk.group_id,
        "token": vk.token,
        "secret": "vk-callback-secret",
        "confirmation": "a1b2c3d4",
        "api_base_url": vk.api_base_url,
    }
    made = {
        "vk": await add_connection(hub.uow(), client_id, "vk", vk_settings, now, mode="longpoll"),
        "telegram": await add_connection(
            hub.uow(),
            client_id,
            "telegram",
            {"token": tg.token, "webhook_secret": "tg-secret", "api_base_url": tg.url},
            now,
            mode="longpoll",
        ),
        "sms": await add_connection(
            hub.uow(), client_id, "sms", {"api_base_url": gw.url, "token": gw.token, "sender": "Shop"}, now
        ),
    }
    await hub.channels.reload(hub.uow, hub.clock.now)
    return made


async def link_customer(hub: Hub, client_id: str, phone: str, **identities: str) -> str:
    """A contact with a phone and messenger identities active now (as a client import would make)."""
    now = hub.clock.now()
    contact_id = new_id("con")
    contact = contact_row(contact_id, client_id, phone, now)
    idents: list[dict[str, Any]] = [
        {
            "id": new_id("idn"),
            "client_id": client_id,
            "contact_id": contact_id,
            "channel": channel,
            "external_id": external_id,
            "last_active_at": now,
            "allowed": True,
            "linked_at": now,
        }
        for channel, external_id in identities.items()
    ]
    async with hub.uow() as uow:
        await uow.contacts.add_many([contact], idents)
        await uow.commit()
    return contact_id


async def dispatch(hub: Hub, clock: FakeClock, seconds: float = 1.0) -> None:
    """Dispatcher rounds until nothing is due, then move time on."""
    dispatcher = hub.dispatcher()
    while await dispatcher.run_once():
        pass
    clock.advance(seconds)


async def until(check: Callable[[], Awaitable[bool]], what: str, attempts: int = 400) -> None:
    """Wait (briefly polling) for something another task does; fail with `what` if it never happens."""
    for _ in range(attempts):
        if await check():
            return
        await asyncio.sleep(0.025)
    raise AssertionError(f"never happened: {what}")
