"""The phone -> messenger directory's writes: one-time link tokens, identity moves, ownership, consent."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Row, Table, bindparam, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import any_of
from storage.models import Contact, Identity, LinkToken

_IDENT: Table = Identity.__table__  # type: ignore[assignment]
_CONTACT: Table = Contact.__table__  # type: ignore[assignment]
_TOKEN: Table = LinkToken.__table__  # type: ignore[assignment]


class LinkRepo:
    """Tokens and the identity/contact changes linking makes; every write is scoped to one client."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add_tokens(self, rows: list[dict[str, Any]]) -> None:
        """Store freshly minted tokens (hashed)."""
        if rows:
            await self._session.execute(_TOKEN.insert(), rows)

    async def by_hashes(self, hashes: Iterable[str]) -> dict[str, Row[Any]]:
        """Tokens by hash, used or not, expired or not (the caller decides)."""
        wanted = set(hashes)
        if not wanted:
            return {}
        stmt = select(*_TOKEN.c).where(any_of(self._session, _TOKEN.c.token_hash, wanted))
        return {row.token_hash: row for row in (await self._session.execute(stmt)).all()}

    async def use(self, token_id: str, used_by: str, now: float) -> bool:
        """Spend a token; False when someone spent it first (one-time even under concurrency)."""
        stmt = (
            update(LinkToken)
            .where(LinkToken.id == token_id, LinkToken.used_at.is_(None))
            .values(used_at=now, used_by=used_by)
        )
        return bool((await self._session.execute(stmt)).rowcount)  # type: ignore[attr-defined]

    async def identities(
        self, client_id: str, channel: str, external_ids: Iterable[str]
    ) -> dict[str, Row[Any]]:
        """A client's identities on one channel by external id."""
        wanted = set(external_ids)
        if not wanted:
            return {}
        stmt = select(*_IDENT.c).where(
            _IDENT.c.client_id == client_id,
            _IDENT.c.channel == channel,
            any_of(self._session, _IDENT.c.external_id, wanted),
        )
        return {row.external_id: row for row in (await self._session.execute(stmt)).all()}

    async def add_identities(self, rows: list[dict[str, Any]]) -> None:
        """Insert new identities (the caller checked they do not exist)."""
        if rows:
            await self._session.execute(_IDENT.insert(), rows)

    async def relink(self, identity_id: str, contact_id: str, now: float, active_at: float | None) -> None:
        """Attach an identity to a contact, as linked now (and active, when it just wrote)."""
        values: dict[str, Any] = {"contact_id": contact_id, "linked_at": now, "allowed": True}
        if active_at is not None:
            values["last_active_at"] = active_at
        await self._session.execute(update(Identity).where(Identity.id == identity_id).values(**values))

    async def set_activity(self, rows: list[tuple[str, float]]) -> None:
        """Set `last_active_at` for many (identity id, at)."""
        if rows:
            stmt = (
                update(_IDENT)
                .where(_IDENT.c.id == bindparam("b_id"))
                .values(last_active_at=bindparam("b_at"))
            )
            await self._session.execute(stmt, [{"b_id": i, "b_at": at} for i, at in rows])

    async def drop_identities(self, identity_ids: Iterable[str]) -> None:
        """Remove identities superseded by a newer account on the same channel."""
        wanted = set(identity_ids)
        if wanted:
            await self._session.execute(delete(Identity).where(any_of(self._session, Identity.id, wanted)))

    async def set_ownership(self, client_id: str, contact_ids: Iterable[str], state: str) -> None:
        """Record the phone-ownership state of some of a client's contacts."""
        wanted = set(contact_ids)
        if wanted:
            await self._session.execute(
                update(Contact)
                .where(Contact.client_id == client_id, any_of(self._session, Contact.id, wanted))
                .values(ownership=state)
            )

    async def set_phone(self, client_id: str, contact_id: str, phone: str) -> None:
        """Give a contact without a phone (someone who wrote first) the phone they shared."""
        await self._session.execute(
            update(Contact)
            .where(Contact.client_id == client_id, Contact.id == contact_id)
            .values(phone=phone)
        )

    async def set_consent(self, client_id: str, rows: list[tuple[str, bool]]) -> None:
        """Set marketing consent for many (contact id, consent) of one client."""
        if rows:
            stmt = (
                update(_CONTACT)
                .where(_CONTACT.c.client_id == client_id, _CONTACT.c.id == bindparam("b_id"))
                .values(marketing_consent=bindparam("b_consent"))
            )
            await self._session.execute(stmt, [{"b_id": i, "b_consent": c} for i, c in rows])
