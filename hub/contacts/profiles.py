"""A contact as the client sees it: profile, attributes, groups, place; edited by PATCH, erased by DELETE.

GET    /v1/contacts/{phone}   identities, activity, suppression, ownership, thread (as before),
                              plus name, attributes, groups, consent source and time, place
PATCH  /v1/contacts/{phone}   name, attributes (null removes one), consent, timezone
DELETE /v1/contacts/{phone}   personal data erased (see `DirectoryRepo.erase`)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hub.clock import iso
from hub.contacts.attributes import as_type, typed
from hub.contacts.linking import ownership_state
from hub.contacts.regions import locate
from hub.contacts.segment_filter import valid_zone
from hub.errors import RequestError
from storage.filter_sql import DEFAULT_TIMEZONE
from storage.models import Contact
from storage.repos.directory import PROFILE
from storage.uow import UnitOfWork

PATCH_FIELDS = ("name", "attributes", "marketing_consent", "consent_source", "timezone")


def summary(contact: Contact, groups: list[str], default_timezone: str | None) -> dict[str, Any]:
    """The profile part of a contact's view (also one item of `GET /v1/contacts`)."""
    return {
        "id": contact.id,
        "phone": contact.phone,
        "name": contact.name,
        "attributes": contact.attributes or {},
        "groups": groups,
        "marketing_consent": contact.marketing_consent,
        "consent_source": contact.consent_source,
        "consent_at": iso(contact.consent_at),
        "opted_out": contact.opted_out,
        "country": contact.country,
        "region": contact.region,
        "timezone": contact.timezone or default_timezone or DEFAULT_TIMEZONE,
        "created_at": iso(contact.created_at),
    }


async def _found(uow: UnitOfWork, client_id: str, phone: str) -> Contact:
    contact = await uow.contacts.by_phone(client_id, phone)
    if contact is None:
        raise RequestError("contact_not_found", "no contact with this phone", status=404)
    return contact


async def _zone(uow: UnitOfWork, client_id: str) -> str | None:
    client = await uow.clients.get(client_id)
    return client.default_timezone if client else None


async def contact_view(uow: UnitOfWork, client_id: str, phone: str, now: float) -> dict[str, Any]:
    """Everything about one contact: profile, identities, ownership (as of `now`) and thread."""
    async with uow:
        contact = await _found(uow, client_id, phone)
        idents = await uow.contacts.identities_of(contact.id)
        thread = await uow.threads.of_contact(client_id, contact.id)
        groups = (await uow.audiences.groups_of([contact.id])).get(contact.id, [])
        zone = await _zone(uow, client_id)
    return {
        **summary(contact, groups, zone),
        "ownership": ownership_state(contact.ownership, idents, now),
        "identities": [
            {
                "channel": i.channel,
                "external_id": i.external_id,
                "last_active_at": iso(i.last_active_at),
                "allowed": i.allowed,
                "linked_at": iso(i.linked_at),
            }
            for i in idents
        ],
        "thread_id": thread.id if thread else None,
    }


def check_patch(body: Any) -> dict[str, Any]:
    """The PATCH body's shape (types of attributes are checked against the registry later)."""
    if not isinstance(body, Mapping) or not body:
        raise RequestError("invalid_body", f"an object with any of: {', '.join(PATCH_FIELDS)}")
    for key in body:
        if key not in PATCH_FIELDS:
            raise RequestError("unknown_field", f"{key}: unknown field; known: {', '.join(PATCH_FIELDS)}")
    name, attributes = body.get("name"), body.get("attributes", {})
    if name is not None and (not isinstance(name, str) or len(name) > 200):
        raise RequestError("invalid_field", "name: text up to 200 characters, or null")
    if not isinstance(attributes, Mapping):
        raise RequestError("invalid_field", "attributes: an object of name: value (null removes one)")
    if "marketing_consent" in body and not isinstance(body["marketing_consent"], bool):
        raise RequestError("invalid_field", "marketing_consent: true or false")
    source = body.get("consent_source")
    if source is not None and (not isinstance(source, str) or not 1 <= len(source) <= 64):
        raise RequestError("invalid_field", "consent_source: text up to 64 characters")
    zone = body.get("timezone")
    if zone is not None and (not isinstance(zone, str) or not valid_zone(zone)):
        raise RequestError("invalid_field", "timezone: an IANA zone such as Asia/Yekaterinburg, or null")
    return dict(body)


async def patch_contact(uow: UnitOfWork, client_id: str, phone: str, body: Any, now: float) -> None:
    """Change a contact's profile; every field is checked before anything is written."""
    changes = check_patch(body)
    async with uow:
        contact = await _found(uow, client_id, phone)
        known = {n: as_type(t) for n, t in (await uow.audiences.attribute_types(client_id)).items()}
        values, learned = typed(changes.get("attributes", {}), known, "attributes.", strict=True)
        profile = {c: getattr(contact, c) for c in PROFILE}
        if "name" in changes:
            profile["name"] = changes["name"]
        merged = {**(contact.attributes or {}), **values}
        profile["attributes"] = {k: v for k, v in merged.items() if v is not None} or None
        if "timezone" in changes:
            profile["timezone"] = changes["timezone"] or locate(phone).timezone
        consent = changes.get("marketing_consent")
        if (consent is not None and consent != contact.marketing_consent) or "consent_source" in changes:
            profile["marketing_consent"] = contact.marketing_consent if consent is None else consent
            profile["consent_source"] = changes.get("consent_source") or "api"
            profile["consent_at"] = now
        await uow.audiences.learn_attributes(client_id, dict(learned), now)
        await uow.directory.set_profiles([{"id": contact.id, **profile}])
        await uow.commit()


async def erase_contact(uow: UnitOfWork, client_id: str, phone: str) -> str:
    """Erase a contact's personal data; returns its id (the row stays for the accounts)."""
    async with uow:
        contact = await _found(uow, client_id, phone)
        await uow.directory.erase(contact.id)
        await uow.commit()
    return contact.id


async def default_zone(uow: UnitOfWork, client_id: str) -> str:
    """The client's default zone for contacts whose number names several."""
    async with uow:
        return (await _zone(uow, client_id)) or DEFAULT_TIMEZONE
