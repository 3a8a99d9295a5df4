"""Contacts made by a notification to a new number get their country, region and zone like imported ones."""

from __future__ import annotations

from hub.bootstrap import Hub
from hub.contacts.profiles import contact_view
from tests.support.scenario import accept, approved_template, new_client, notify_item


async def test_a_notification_to_a_new_number_stores_where_it_is(hub: Hub) -> None:
    _, client = await new_client(hub)
    template = await approved_template(hub, client.id)
    await accept(hub, client, [notify_item(template.id, p) for p in ("+73832123456", "+79161110001")])
    landline = await contact_view(hub.uow(), client.id, "+73832123456", hub.clock.now())
    assert (landline["country"], landline["region"], landline["timezone"]) == (
        "RU",
        "Новосибирская обл.",
        "Asia/Novosibirsk",
    )
    mobile = await contact_view(hub.uow(), client.id, "+79161110001", hub.clock.now())
    assert (mobile["country"], mobile["region"], mobile["timezone"]) == ("RU", None, "Europe/Moscow")
