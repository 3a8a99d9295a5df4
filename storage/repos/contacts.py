"""The per-client contact directory: phones, messenger identities, activity."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Row, Table, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import any_of, insert_ignore
from storage.models import Contact, Identity
from storage.prebuilt import Prebuilt

_CONTACTS: Table = Contact.__table__  # type: ignore[assignment]
_IDENTITIES: Table = Identity.__table__  # type: ignore[assignment]
_GET_MANY = Prebuilt(lambda _, among: select(*_CONTACTS.c).where(among(_CONTACTS.c.id, "ids")))
_OWNERS_OF = Prebuilt(
    lambda _, among: select(
        _IDENTITIES.c.external_id, _IDENTITIES.c.client_id, _IDENTITIES.c.contact_id
    ).where(_IDENTITIES.c.channel == bindparam("channel"), among(_IDENTITIES.c.external_id, "ids"))
)
_TOUCH = (
    update(_IDENTITIES)
    .where(
        _IDENTITIES.c.client_id == bindparam("b_client"),
        _IDENTITIES.c.channel == bindparam("b_channel"),
        _IDENTITIES.c.external_id == bindparam("b_ext"),
    )
    .values(last_active_at=bindparam("b_at"))
)


def contact_row(contact_id: str, client_id: str, phone: str | None, now: float) -> dict[str, Any]:
    """A new contact's row: not opted out, no marketing consent, ownership verified."""
    return {
        "id": contact_id,
        "client_id": client_id,
        "phone": phone,
        "opted_out": False,
        "marketing_consent": False,
        "ownership": "verified",
        "created_at": now,
    }


class ContactRepo:
    """Contacts and identities, read and written in batches on the notify path."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def by_phones(self, client_id: str, phones: Iterable[str]) -> dict[str, Contact]:
        """Existing contacts of a client keyed by phone."""
        wanted = set(phones)
        if not wanted:
            return {}
        stmt = select(Contact).where(
            Contact.client_id == client_id, any_of(self._session, Contact.phone, wanted)
        )
        return {c.phone: c for c in (await self._session.execute(stmt)).scalars() if c.phone}

    async def by_identity(self, client_id: str, channel: str, external_ids: Iterable[str]) -> dict[str, str]:
        """Contact ids keyed by a messenger identity."""
        wanted = set(external_ids)
        if not wanted:
            return {}
        stmt = select(Identity.external_id, Identity.contact_id).where(
            Identity.client_id == client_id,
            Identity.channel == channel,
            any_of(self._session, Identity.external_id, wanted),
        )
        return {ext: cid for ext, cid in (await self._session.execute(stmt)).all()}

    async def add_many(self, contacts: list[dict[str, Any]], identities: list[dict[str, Any]]) -> None:
        """Insert contacts and identities, skipping any a concurrent request created first."""
        if contacts:
            await self._session.execute(insert_ignore(self._session, Contact), contacts)
        if identities:
            await self._session.execute(insert_ignore(self._session, Identity), identities)

    async def get_many(self, contact_ids: Iterable[str]) -> dict[str, Row[Any]]:
        """Contacts by id, as plain rows (this sits on the dispatch hot path)."""
        params = {"ids": list(set(contact_ids))}
        return {c.id: c for c in (await self._session.execute(_GET_MANY.on(self._session), params)).all()}

    async def identities(self, contact_ids: Iterable[str]) -> dict[str, list[Row[Any]]]:
        """Every identity of these contacts, as plain rows."""
        found: dict[str, list[Row[Any]]] = defaultdict(list)
        table = Identity.__table__
        stmt = select(*table.c).where(any_of(self._session, table.c.contact_id, set(contact_ids)))
        for ident in (await self._session.execute(stmt)).all():
            found[ident.contact_id].append(ident)
        return found

    async def touch(self, client_id: str, channel: str, external_id: str, at: float) -> None:
        """Record that the customer was active on this messenger (they wrote to us)."""
        await self._session.execute(
            update(Identity)
            .where(
                Identity.client_id == client_id,
                Identity.channel == channel,
                Identity.external_id == external_id,
            )
            .values(last_active_at=at)
        )

    async def set_allowed(self, client_id: str, channel: str, external_id: str, allowed: bool) -> bool:
        """Record whether the customer lets this client message them on a messenger."""
        result = await self._session.execute(
            update(Identity)
            .where(
                Identity.client_id == client_id,
                Identity.channel == channel,
                Identity.external_id == external_id,
            )
            .values(allowed=allowed)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def clients_of_phone(self, phone: str) -> list[tuple[str, str]]:
        """(client id, contact id) pairs with this phone number (SMS replies)."""
        stmt = select(Contact.client_id, Contact.id).where(Contact.phone == phone)
        return [(a, b) for a, b in (await self._session.execute(stmt)).all()]

    async def clients_of_identity(self, channel: str, external_id: str) -> list[tuple[str, str]]:
        """(client id, contact id) pairs that know this messenger identity."""
        stmt = select(Identity.client_id, Identity.contact_id).where(
            Identity.channel == channel, Identity.external_id == external_id
        )
        return [(a, b) for a, b in (await self._session.execute(stmt)).all()]

    async def set_opted_out(self, contact_id: str, opted_out: bool) -> None:
        """Put the contact on (or take it off) the client's suppression list."""
        await self._session.execute(
            update(Contact).where(Contact.id == contact_id).values(opted_out=opted_out)
        )

    async def by_phone(self, client_id: str, phone: str) -> Contact | None:
        """One contact of a client by E.164 phone."""
        return (await self.by_phones(client_id, [phone])).get(phone)

    async def identities_of(self, contact_id: str) -> list[Identity]:
        """A contact's messenger identities."""
        stmt = select(Identity).where(Identity.contact_id == contact_id).order_by(Identity.channel)
        return list((await self._session.execute(stmt)).scalars())

    async def owners_of(self, channel: str, external_ids: Iterable[str]) -> dict[str, list[tuple[str, str]]]:
        """(client id, contact id) pairs per messenger identity, for many identities at once."""
        found: dict[str, list[tuple[str, str]]] = defaultdict(list)
        wanted = set(external_ids)
        if wanted:
            stmt, params = _OWNERS_OF.on(self._session), {"channel": channel, "ids": list(wanted)}
            for ext, client_id, contact_id in (await self._session.execute(stmt, params)).all():
                found[ext].append((client_id, contact_id))
        return found

    async def touch_many(self, touches: list[tuple[str, str, str, float]]) -> None:
        """`touch` for many (client id, channel, external id, at) at once."""
        if not touches:
            return
        rows = [{"b_client": c, "b_channel": ch, "b_ext": e, "b_at": at} for c, ch, e, at in touches]
        await self._session.execute(_TOUCH, rows)
