"""Test helpers for identity linking: a client with VK/Telegram/OK connections, recording channels."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import select

from bots.base import BaseChannel, OutboundMessage, SendResult
from hub.bootstrap import Hub
from hub.channels.connections import add_connection, callback_path
from hub.ids import new_id
from storage.models import Connection, WebhookDelivery, WebhookEndpoint
from tests.fakes.clock import FakeClock
from tests.fakes.telegram_api import text_update
from tests.fakes.vk_api import message_new
from tests.support.scenario import accept, approved_template, notify_item

TG_TOKEN = "123456:ABCdefGhIJKlmNoPQRstuVWXyz0123456"
_ids = itertools.count(1)


class Recorder(BaseChannel):
    """A channel that accepts everything at once (delivered) and remembers what it was given."""

    def __init__(self, name: str) -> None:
        self.name = name  # type: ignore[assignment]
        self.sent: list[OutboundMessage] = []

    async def send(self, message: OutboundMessage) -> SendResult:
        """Record and confirm."""
        self.sent.append(message)
        return SendResult(external_id=f"rec-{next(_ids)}", status="delivered")


class Env:
    """One client's API key, connections and recording channels, with the hub and its API."""

    def __init__(self, hub: Hub, api: TestClient, clock: FakeClock) -> None:  # type: ignore[type-arg]
        self.hub, self.api, self.clock = hub, api, clock
        self.key = ""
        self.client_id = ""
        self.conns: dict[str, Connection] = {}
        self.channels = {name: Recorder(name) for name in ("vk", "telegram", "sms")}

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}

    async def connect(self) -> None:
        """VK community 77 and Telegram @shop_bot by callback, an OK group; sends go to recorders."""
        now = self.hub.clock.now()
        vk = {"group_id": 77, "token": "vk-token", "secret": "right", "confirmation": "c0nf"}
        tg = {"token": TG_TOKEN, "webhook_secret": "tg-right", "username": "shop_bot"}
        add = add_connection
        self.conns["vk"] = await add(self.hub.uow(), self.client_id, "vk", vk, now, mode="callback")
        self.conns["telegram"] = await add(
            self.hub.uow(), self.client_id, "telegram", tg, now, mode="callback"
        )
        self.conns["ok"] = await add(self.hub.uow(), self.client_id, "ok", {"token": "ok-token"}, now)
        for name, channel in self.channels.items():
            self.hub.channels.connect(self.client_id, name, channel)

    async def links(self, phone: str, key: str | None = None, **body: Any) -> dict[str, Any]:
        auth = {"Authorization": f"Bearer {key}"} if key else self.auth
        resp = await self.api.post(f"/v1/contacts/{phone}/links", json=body, headers=auth)
        assert resp.status == 201, await resp.text()
        return dict(await resp.json())

    async def vk_writes(self, user: int, text: str, ref: str | None = None) -> None:
        """A VK Callback API `message_new` (with the deep link's `ref`) to the client's community."""
        update = {**message_new(f"e{next(_ids)}", from_id=user, text=text, message_id=next(_ids), ref=ref)}
        update["group_id"] = 77
        update["object"]["message"]["date"] = int(self.clock.now())
        resp = await self.api.post(callback_path(self.conns["vk"]), json={**update, "secret": "right"})
        assert resp.status == 200, await resp.text()

    async def tg_writes(self, chat: int, text: str, contact: dict[str, Any] | None = None) -> None:
        """A Telegram webhook update from a private chat (a text, or a shared contact)."""
        update = {"update_id": next(_ids), **text_update(chat, text, message_id=next(_ids), contact=contact)}
        update["message"]["date"] = int(self.clock.now())
        headers = {"X-Telegram-Bot-Api-Secret-Token": "tg-right"}
        resp = await self.api.post(callback_path(self.conns["telegram"]), json=update, headers=headers)
        assert resp.status == 200, await resp.text()

    async def contact(self, phone: str, key: str | None = None) -> dict[str, Any]:
        auth = {"Authorization": f"Bearer {key}"} if key else self.auth
        resp = await self.api.get(f"/v1/contacts/{phone}", headers=auth)
        assert resp.status == 200, await resp.text()
        return dict(await resp.json())

    async def send(self, phone: str, route: list[dict[str, Any]], important: bool = False) -> list[Any]:
        """Send a service notification now and dispatch it; returns its legs."""
        template = await approved_template(self.hub, self.client_id, important=important, name=new_id("t"))
        at = datetime.fromtimestamp(self.clock.now(), UTC)
        async with self.hub.uow() as uow:
            client = await uow.clients.get(self.client_id)
        assert client is not None
        [accepted] = await accept(
            self.hub, client, [notify_item(template.id, phone, route=route, action_at=at)]
        )
        dispatcher = self.hub.dispatcher()
        for _ in range(6):
            while await dispatcher.run_once():
                pass
            self.clock.advance(1)
        async with self.hub.uow() as uow:
            return (await uow.notifications.legs([accepted.id]))[accepted.id]

    async def watch_webhooks(self) -> None:
        """A webhook endpoint, so events are queued as deliveries we can read."""
        endpoint = WebhookEndpoint(
            id=new_id("whk"),
            client_id=self.client_id,
            url="https://hooks.example/x",
            events=[],
            secret="whsec_" + "A" * 44,
            created_at=self.clock.now(),
        )
        async with self.hub.uow() as uow:
            await uow.webhooks.add_endpoint(endpoint)
            await uow.commit()

    async def events(self) -> list[dict[str, Any]]:
        """Queued webhook payloads, oldest first."""
        async with self.hub.uow() as uow:
            session = uow.connections._session
            rows = await session.execute(select(WebhookDelivery.payload).order_by(WebhookDelivery.seq))
            return [dict(r[0]) for r in rows.all()]
