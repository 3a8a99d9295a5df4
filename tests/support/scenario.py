"""Test helpers that drive a hub by hand: client set-up and stepping workers and the sandbox."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aiohttp.test_utils import TestClient

from hub.api.schemas import Decision, NotifyIn, TemplateIn
from hub.bootstrap import Hub
from hub.delivery.moderation import decide, submit
from hub.delivery.notify import Accepted
from hub.security.accounts import NewClient, create_client
from storage.models import Client, Template
from tests.fakes.clock import FakeClock

SURVEY = "Здравствуйте, #name#! Ваш заказ #order# доставлен. Оцените доставку от 1 до 5."
ALL_CHANNELS = [
    {"channel": "vk", "ttl": 15},
    {"channel": "ok", "ttl": 15},
    {"channel": "telegram", "ttl": 15},
    {"channel": "sms"},
]


async def new_client(hub: Hub, name: str = "Shop") -> tuple[NewClient, Client]:
    """A client and its stored row."""
    created = await create_client(hub.uow(), name, hub.clock.now())
    async with hub.uow() as uow:
        client = await uow.clients.get(created.id)
    assert client is not None
    return created, client


async def approved_template(hub: Hub, client_id: str, text: str = SURVEY, **kw: Any) -> Template:
    """A template that went through moderation."""
    body = TemplateIn(name=kw.pop("name", "survey"), text=text, category=kw.pop("category", "service"), **kw)
    template = await submit(hub.uow(), client_id, body, hub.clock.now())
    return await decide(hub.uow(), template.id, Decision(status="approved"), hub.clock.now())


def notify_item(template_id: str, phone: str, **kw: Any) -> NotifyIn:
    """A notify request for the survey template, caused by an action just now."""
    data: dict[str, Any] = {
        "to": {"phone": phone},
        "template_id": template_id,
        "params": {"name": "Анна", "order": "77031"},
        "action_at": datetime.now(UTC),
    }
    data.update(kw)
    return NotifyIn.model_validate(data)


async def accept(hub: Hub, client: Client, items: list[NotifyIn]) -> list[Accepted]:
    """Accept items that must all be valid."""
    outcomes = await hub.acceptor.accept(hub.uow(), client, list(items), hub.clock.now())
    assert all(isinstance(o, Accepted) for o in outcomes), outcomes
    return [o for o in outcomes if isinstance(o, Accepted)]


async def step(hub: Hub, clock: FakeClock, seconds: float = 0.5) -> None:
    """One tick: a dispatcher round, then every due sandbox event, then time moves on."""
    dispatcher = hub.dispatcher()
    while await dispatcher.run_once():
        pass
    assert hub.network is not None
    events, progress = await hub.network.due_events()
    if progress:
        await hub.ingest.apply(events)
        await hub.network.ack(progress)
    clock.advance(seconds)


async def run_until_final(hub: Hub, clock: FakeClock, ids: list[str], limit: float = 120) -> None:
    """Step until every notification is final (and its late receipts are in), or fail."""
    waited = 0.0
    while waited < limit:
        await step(hub, clock)
        waited += 0.5
        async with hub.uow() as uow:
            notes = [await uow.notifications.get(i) for i in ids]
        if all(n is not None and n.final for n in notes):
            for _ in range(12):  # let receipts and replies that follow the final state arrive
                await step(hub, clock)
            return
    raise AssertionError("notifications did not reach a final state")


async def deliver_webhooks(hub: Hub) -> None:
    """Run the webhook sender until nothing is due now."""
    assert hub.webhook_sender is not None
    while await hub.webhook_sender.run_once():
        pass


async def thread_of(api: TestClient, key: str, phone: str) -> dict[str, Any]:  # type: ignore[type-arg]
    """The thread of the contact with this phone, via the API."""
    auth = {"Authorization": f"Bearer {key}"}
    found = await (await api.get("/v1/threads", params={"phone": phone}, headers=auth)).json()
    [head] = found["threads"]
    return dict(await (await api.get(f"/v1/threads/{head['id']}", headers=auth)).json())
