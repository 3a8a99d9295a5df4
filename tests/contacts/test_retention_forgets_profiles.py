"""The retention purge forgets an idle contact's profile too: name, attributes, place, groups."""

from __future__ import annotations

from sqlalchemy import select

from hub.bootstrap import Hub
from hub.contacts.importer import import_stream
from hub.security.retention import purge
from storage.db import session_factory
from storage.models import Contact
from storage.repos.retention import RetentionStore
from tests.fakes.clock import FakeClock
from tests.support.scenario import new_client

DAY = 86400.0


async def test_an_idle_contact_keeps_no_profile_after_the_purge(hub: Hub, clock: FakeClock) -> None:
    _, client = await new_client(hub)
    row = {"phone": "+73832123456", "name": "Анна", "city": "Омск", "groups": "VIP", "marketing_consent": "1"}
    await import_stream(hub.uow, client.id, [(2, row)], clock.now())
    clock.advance(200 * DAY)
    done = await purge(RetentionStore(session_factory(hub.engine)), clock.now() - 180 * DAY)
    assert done.idle_contacts == 1
    async with hub.uow() as uow:
        [contact] = (await uow.connections._session.execute(select(Contact))).scalars()
        assert (contact.phone, contact.name, contact.attributes) == (None, None, None)
        assert (contact.region, contact.timezone, contact.consent_source, contact.consent_at) == (None,) * 4
        assert await uow.audiences.groups_of([contact.id]) == {}
