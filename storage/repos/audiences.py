"""A client's audiences: the attribute registry, groups and their members, saved segments."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Table, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import any_of, insert_ignore
from storage.models import ContactAttribute, ContactGroup, GroupMember, Segment

_G: Table = ContactGroup.__table__  # type: ignore[assignment]
_M: Table = GroupMember.__table__  # type: ignore[assignment]


class AudienceRepo:
    """Attribute types, groups and segments of one client at a time."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def attribute_types(self, client_id: str) -> dict[str, str]:
        """Every attribute name the client has used, with its type."""
        stmt = select(ContactAttribute.name, ContactAttribute.type).where(
            ContactAttribute.client_id == client_id
        )
        return {name: kind for name, kind in (await self._session.execute(stmt)).all()}

    async def learn_attributes(self, client_id: str, types: dict[str, str], now: float) -> None:
        """Remember new attribute names and types (a name already known keeps its type)."""
        if types:
            rows = [
                {"client_id": client_id, "name": n, "type": t, "created_at": now} for n, t in types.items()
            ]
            await self._session.execute(insert_ignore(self._session, ContactAttribute), rows)

    async def add_group(self, group_id: str, client_id: str, name: str, now: float) -> bool:
        """Create a group; False when the client already has one of this name."""
        row = {"id": group_id, "client_id": client_id, "name": name, "created_at": now}
        result = await self._session.execute(insert_ignore(self._session, ContactGroup).values(row))
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def ensure_groups(
        self, client_id: str, names: Iterable[str], ids: Iterable[str], now: float
    ) -> dict[str, str]:
        """Group ids by name, creating the missing ones (with the given fresh ids, in order)."""
        wanted = sorted(set(names))
        if not wanted:
            return {}
        rows = [
            {"id": i, "client_id": client_id, "name": n, "created_at": now}
            for n, i in zip(wanted, ids, strict=False)
        ]
        await self._session.execute(insert_ignore(self._session, ContactGroup), rows)
        return await self.group_ids(client_id, wanted)

    async def group_ids(self, client_id: str, names: Iterable[str]) -> dict[str, str]:
        """Ids of the client's groups by name."""
        wanted = set(names)
        if not wanted:
            return {}
        stmt = select(_G.c.name, _G.c.id).where(
            _G.c.client_id == client_id, any_of(self._session, _G.c.name, wanted)
        )
        return {name: gid for name, gid in (await self._session.execute(stmt)).all()}

    async def groups(self, client_id: str) -> list[tuple[ContactGroup, int]]:
        """The client's groups by name, each with its member count."""
        count = select(func.count()).where(_M.c.group_id == ContactGroup.id).scalar_subquery()
        stmt = (
            select(ContactGroup, count).where(ContactGroup.client_id == client_id).order_by(ContactGroup.name)
        )
        return [(g, n) for g, n in (await self._session.execute(stmt)).all()]

    async def group(self, client_id: str, group_id: str) -> ContactGroup | None:
        """One of the client's groups."""
        stmt = select(ContactGroup).where(ContactGroup.client_id == client_id, ContactGroup.id == group_id)
        return (await self._session.execute(stmt)).scalar_one_or_none()

    async def delete_group(self, group_id: str) -> None:
        """Remove a group and its memberships (the contacts stay)."""
        await self._session.execute(delete(GroupMember).where(GroupMember.group_id == group_id))
        await self._session.execute(delete(ContactGroup).where(ContactGroup.id == group_id))

    async def add_members(self, pairs: Iterable[tuple[str, str]]) -> None:
        """Add (group id, contact id) memberships (existing ones stay as they are)."""
        rows = [{"group_id": g, "contact_id": c} for g, c in set(pairs)]
        if rows:
            await self._session.execute(insert_ignore(self._session, GroupMember), rows)

    async def members_among(self, group_id: str, contact_ids: Iterable[str]) -> set[str]:
        """Which of these contacts are in the group."""
        wanted = set(contact_ids)
        if not wanted:
            return set()
        stmt = select(_M.c.contact_id).where(
            _M.c.group_id == group_id, any_of(self._session, _M.c.contact_id, wanted)
        )
        return set((await self._session.execute(stmt)).scalars())

    async def remove_members(self, group_id: str, contact_ids: Iterable[str]) -> int:
        """Take contacts out of a group; returns how many were in it."""
        wanted = set(contact_ids)
        if not wanted:
            return 0
        stmt = delete(GroupMember).where(
            GroupMember.group_id == group_id, any_of(self._session, GroupMember.contact_id, wanted)
        )
        return int((await self._session.execute(stmt)).rowcount)  # type: ignore[attr-defined]

    async def groups_of(self, contact_ids: Iterable[str]) -> dict[str, list[str]]:
        """Group names of each contact, sorted."""
        found: dict[str, list[str]] = defaultdict(list)
        wanted = set(contact_ids)
        if wanted:
            stmt = (
                select(_M.c.contact_id, _G.c.name)
                .join(_G, _G.c.id == _M.c.group_id)
                .where(any_of(self._session, _M.c.contact_id, wanted))
                .order_by(_G.c.name)
            )
            for contact_id, name in (await self._session.execute(stmt)).all():
                found[contact_id].append(name)
        return found

    async def add_segment(self, row: dict[str, Any]) -> bool:
        """Save a segment; False when the client already has one of this name."""
        result = await self._session.execute(insert_ignore(self._session, Segment).values(row))
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def segments(self, client_id: str) -> list[Segment]:
        """The client's segments by name."""
        stmt = select(Segment).where(Segment.client_id == client_id).order_by(Segment.name)
        return list((await self._session.execute(stmt)).scalars())

    async def segment(self, client_id: str, segment_id: str) -> Segment | None:
        """One of the client's segments."""
        stmt = select(Segment).where(Segment.client_id == client_id, Segment.id == segment_id)
        return (await self._session.execute(stmt)).scalar_one_or_none()
