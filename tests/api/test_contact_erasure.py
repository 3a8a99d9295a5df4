"""DELETE /v1/contacts/{phone} erases personal data; the accounts keep what was sent and its cost."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from hub.api.app import create_app
from hub.bootstrap import Hub
from storage.models import AuditEntry, Contact, Identity, InboundMessage, Leg, Notification
from tests.fakes.clock import FakeClock
from tests.support.linking_env import Env
from tests.support.real_adapters import link_customer
from tests.support.scenario import new_client

MakeClient = Callable[..., Awaitable[TestClient]]  # type: ignore[type-arg]
PHONE = "+79161110001"


@pytest.fixture
async def env(hub: Hub, clock: FakeClock, aiohttp_client: MakeClient) -> Env:
    made = Env(hub, await aiohttp_client(create_app(hub, run_workers=False)), clock)
    created, client = await new_client(hub, "Pizza")
    made.key, made.client_id = created.api_key, client.id
    return made


async def test_delete_erases_the_profile_identities_texts_and_recipients(env: Env) -> None:
    await env.connect()
    await link_customer(env.hub, env.client_id, PHONE, vk="5001")
    body = "phone,name,city,groups\n" + PHONE + ",Анна,Казань,VIP\n"
    headers = {**env.auth, "Content-Type": "text/csv"}
    assert (await env.api.post("/v1/contacts/import", data=body.encode(), headers=headers)).status == 200
    legs = await env.send(PHONE, [{"channel": "vk"}])
    assert legs[0].status == "delivered"
    await env.vk_writes(5001, "Спасибо, всё пришло")
    contact = await env.contact(PHONE)
    assert contact["thread_id"] and contact["groups"] == ["VIP"]

    resp = await env.api.delete(f"/v1/contacts/{PHONE}", headers=env.auth)
    assert resp.status == 204
    assert (await env.api.get(f"/v1/contacts/{PHONE}", headers=env.auth)).status == 404
    assert (await env.api.delete(f"/v1/contacts/{PHONE}", headers=env.auth)).status == 404

    async with env.hub.uow() as uow:
        session = uow.connections._session
        row = (await session.execute(select(Contact).where(Contact.id == contact["id"]))).scalar_one()
        assert (row.phone, row.name, row.attributes, row.marketing_consent) == (None, None, None, False)
        assert (row.country, row.region, row.timezone) == (None, None, None)
        assert (await session.execute(select(Identity).where(Identity.contact_id == row.id))).all() == []
        assert await uow.audiences.groups_of([row.id]) == {}
        texts = await session.execute(select(InboundMessage.text).where(InboundMessage.contact_id == row.id))
        assert {t for (t,) in texts.all()} == {""}
        [sent] = (
            await session.execute(select(Notification).where(Notification.contact_id == row.id))
        ).scalars()
        assert sent.text == "" and sent.status == "delivered" and sent.cost_minor > 0  # the accounts stay
        recipients = await session.execute(select(Leg.recipient).where(Leg.notification_id == sent.id))
        assert {r for (r,) in recipients.all()} == {None}
        [audit] = (
            await session.execute(select(AuditEntry).where(AuditEntry.action == "contact.erased"))
        ).scalars()
        assert audit.target == "+7916***0001"

    again = await env.api.post("/v1/contacts/import", data=f"phone\n{PHONE}\n".encode(), headers=headers)
    assert (await again.json())["created"] == 1  # the same number later is a new contact
    fresh = await env.contact(PHONE)
    assert fresh["id"] != contact["id"] and fresh["thread_id"] is None and fresh["identities"] == []
