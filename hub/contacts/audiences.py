"""Groups and segments of a client's contacts, and the contact list they filter.

POST   /v1/groups {name}                    -> 201 {id, name}
GET    /v1/groups                           -> every group with its member count
POST   /v1/groups/{id}/members {phones}     add contacts (phones the client has)
DELETE /v1/groups/{id}/members {phones}     take them out
DELETE /v1/groups/{id}                      the group (a group a segment uses is kept: 409)
POST   /v1/segments {name, filter}          a saved filter (see `hub.contacts.segment_filter`)
GET    /v1/segments, GET /v1/segments/{id}/preview -> count and a sample
GET    /v1/contacts?group=&segment=&q=&cursor=&limit=
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from hub.clock import iso
from hub.contacts.attributes import as_type
from hub.contacts.phones import normalize_phone
from hub.contacts.profiles import summary
from hub.contacts.segment_filter import parse_filter
from hub.errors import RequestError
from hub.ids import new_id
from storage.filters import All, AnyOf, InGroup, Node
from storage.models import ContactGroup, Segment
from storage.uow import UnitOfWork

MAX_PHONES = 1000
SAMPLE = 10


def _name(raw: Any, what: str) -> str:
    if not isinstance(raw, str) or not raw.strip() or len(raw.strip()) > 200:
        raise RequestError("invalid_field", f"name: the {what}'s name, 1..200 characters")
    return raw.strip()


def group_view(group: ContactGroup, members: int | None = None) -> dict[str, Any]:
    """A group as the API shows it."""
    view: dict[str, Any] = {"id": group.id, "name": group.name, "created_at": iso(group.created_at)}
    return view if members is None else {**view, "members": members}


async def create_group(uow: UnitOfWork, client_id: str, body: Any, now: float) -> dict[str, Any]:
    """A new, empty group; 409 when the client has one of this name."""
    name = _name(body.get("name") if isinstance(body, dict) else None, "group")
    async with uow:
        group_id = new_id("grp")
        if not await uow.audiences.add_group(group_id, client_id, name, now):
            raise RequestError("group_exists", f"there is already a group named {name!r}", status=409)
        await uow.commit()
    return {"id": group_id, "name": name}


async def list_groups(uow: UnitOfWork, client_id: str) -> dict[str, Any]:
    """The client's groups with member counts."""
    async with uow:
        return {"groups": [group_view(g, n) for g, n in await uow.audiences.groups(client_id)]}


def _phones(body: Any) -> list[str]:
    phones = body.get("phones") if isinstance(body, dict) else None
    if not isinstance(phones, list) or not 1 <= len(phones) <= MAX_PHONES:
        raise RequestError("invalid_field", f"phones: a list of 1..{MAX_PHONES} phone numbers")
    out = []
    for i, phone in enumerate(phones):
        try:
            out.append(normalize_phone(str(phone)) if isinstance(phone, str | int) else "")
        except RequestError as e:
            raise RequestError(e.code, f"phones[{i}]: {e.message}") from e
        if not out[-1]:
            raise RequestError("bad_phone", f"phones[{i}]: a phone number")
    return list(dict.fromkeys(out))


async def _group(uow: UnitOfWork, client_id: str, group_id: str) -> ContactGroup:
    group = await uow.audiences.group(client_id, group_id)
    if group is None:
        raise RequestError("group_not_found", "no group with this id", status=404)
    return group


async def change_members(
    uow: UnitOfWork, client_id: str, group_id: str, body: Any, add: bool
) -> dict[str, Any]:
    """Add or remove members by phone; phones the client does not have are listed, not added."""
    phones = _phones(body)
    async with uow:
        await _group(uow, client_id, group_id)
        ids = await uow.directory.ids_by_phones(client_id, phones)
        already = await uow.audiences.members_among(group_id, ids.values())
        if add:
            await uow.audiences.add_members((group_id, cid) for cid in ids.values())
        else:
            await uow.audiences.remove_members(group_id, already)
        await uow.commit()
    missing = [p for p in phones if p not in ids]
    if add:
        return {"added": len(ids) - len(already), "already": len(already), "not_found": missing}
    return {"removed": len(already), "not_members": len(ids) - len(already), "not_found": missing}


async def delete_group(uow: UnitOfWork, client_id: str, group_id: str) -> None:
    """Delete a group (its contacts stay); refused while a segment names it."""
    async with uow:
        group = await _group(uow, client_id, group_id)
        for segment in await uow.audiences.segments(client_id):
            if group.name in set(_group_names(segment.filter)):
                raise RequestError(
                    "group_in_use", f"segment {segment.name!r} uses this group; change it first", status=409
                )
        await uow.audiences.delete_group(group_id)
        await uow.commit()


def _group_names(raw: Any) -> Iterator[str]:
    if isinstance(raw, dict):
        if isinstance(raw.get("group"), str):
            yield raw["group"]
        for value in raw.values():
            yield from _group_names(value)
    elif isinstance(raw, list):
        for value in raw:
            yield from _group_names(value)


async def _parse(uow: UnitOfWork, client_id: str, raw: Any, now: float) -> Node:
    types = {n: as_type(t) for n, t in (await uow.audiences.attribute_types(client_id)).items()}
    groups = [g.name for g, _ in await uow.audiences.groups(client_id)]
    return parse_filter(raw, types, groups, now)


def segment_view(segment: Segment) -> dict[str, Any]:
    """A segment as the API shows it."""
    return {
        "id": segment.id,
        "name": segment.name,
        "filter": segment.filter,
        "created_at": iso(segment.created_at),
    }


async def create_segment(uow: UnitOfWork, client_id: str, body: Any, now: float) -> dict[str, Any]:
    """Save a segment whose filter checks out; 422 naming the part at fault, 409 on a taken name."""
    if not isinstance(body, dict) or set(body) - {"name", "filter"} or "filter" not in body:
        raise RequestError("invalid_body", 'an object {"name": ..., "filter": {...}}')
    name = _name(body.get("name"), "segment")
    async with uow:
        await _parse(uow, client_id, body["filter"], now)
        row = {"id": new_id("seg"), "client_id": client_id, "name": name, "filter": body["filter"]}
        if not await uow.audiences.add_segment({**row, "created_at": now}):
            raise RequestError("segment_exists", f"there is already a segment named {name!r}", status=409)
        await uow.commit()
    return {**row, "created_at": iso(now)}


async def list_segments(uow: UnitOfWork, client_id: str) -> dict[str, Any]:
    """The client's segments."""
    async with uow:
        return {"segments": [segment_view(s) for s in await uow.audiences.segments(client_id)]}


async def _zone(uow: UnitOfWork, client_id: str) -> str | None:
    client = await uow.clients.get(client_id)
    return client.default_timezone if client else None


async def preview_segment(uow: UnitOfWork, client_id: str, segment_id: str, now: float) -> dict[str, Any]:
    """How many contacts the segment holds now, and the first few."""
    async with uow:
        segment = await uow.audiences.segment(client_id, segment_id)
        if segment is None:
            raise RequestError("segment_not_found", "no segment with this id", status=404)
        node, zone = await _parse(uow, client_id, segment.filter, now), await _zone(uow, client_id)
        count = await uow.directory.count(client_id, node, zone)
        sample = await uow.directory.page(client_id, node=node, zone=zone, limit=SAMPLE)
        groups = await uow.audiences.groups_of(c.id for c in sample)
    return {
        **segment_view(segment),
        "count": count,
        "sample": [summary(c, groups.get(c.id, []), zone) for c in sample],
    }


async def list_contacts(
    uow: UnitOfWork,
    client_id: str,
    now: float,
    *,
    group: str | None = None,
    segment: str | None = None,
    q: str | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> dict[str, Any]:
    """A page of contacts (by id), in a group and/or a segment, matching `q` in the phone or name."""
    async with uow:
        parts: list[Node] = []
        if group:
            found = await uow.audiences.group_ids(client_id, [group])
            if not found and await uow.audiences.group(client_id, group) is None:
                raise RequestError("group_not_found", "no group with this name or id", status=404)
            parts.append(InGroup(group if found else (await _group(uow, client_id, group)).name))
        if segment:
            saved = await uow.audiences.segment(client_id, segment)
            if saved is None:
                raise RequestError("segment_not_found", "no segment with this id", status=404)
            parts.append(await _parse(uow, client_id, saved.filter, now))
        zone = await _zone(uow, client_id)
        node = All(tuple(parts))
        page = await uow.directory.page(client_id, node=node, zone=zone, q=q, after=cursor, limit=limit + 1)
        groups = await uow.audiences.groups_of(c.id for c in page[:limit])
    more = len(page) > limit
    return {
        "contacts": [summary(c, groups.get(c.id, []), zone) for c in page[:limit]],
        "next_cursor": page[limit - 1].id if more else None,
    }


async def audience_filter(
    uow: UnitOfWork, client_id: str, groups: list[str], segments: list[str], now: float
) -> Node | None:
    """Groups (by name or id) and saved segments, united into one filter; 404 naming an unknown one.

    Call inside `uow`. None when neither is given.
    """
    parts: list[Node] = []
    for group in groups:
        if not await uow.audiences.group_ids(client_id, [group]):
            named = await uow.audiences.group(client_id, group)
            if named is None:
                raise RequestError("group_not_found", f"audience.groups: no group {group!r}", status=404)
            group = named.name
        parts.append(InGroup(group))
    for segment_id in segments:
        saved = await uow.audiences.segment(client_id, segment_id)
        if saved is None:
            raise RequestError(
                "segment_not_found", f"audience.segments: no segment {segment_id!r}", status=404
            )
        parts.append(await _parse(uow, client_id, saved.filter, now))
    return AnyOf(tuple(parts)) if parts else None
