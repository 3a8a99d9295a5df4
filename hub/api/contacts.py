"""HTTP API for the contact directory: contacts, deep links, ownership reports, imports, settings.

    GET    /v1/contacts?group=&segment=&q=&cursor=&limit=   a page of contacts (client and agent keys)
    GET    /v1/contacts/{phone}                 one contact (client and agent keys)
    PATCH  /v1/contacts/{phone}                 name, attributes, consent, timezone
    DELETE /v1/contacts/{phone}                 erase the contact's personal data (204)
    POST   /v1/contacts/{phone}/links           one-time deep links per channel (201)
    POST   /v1/contacts/{phone}/ownership       the client reports the phone changed hands
    POST   /v1/contacts/import                  CSV (text/csv), XLSX or JSON, streamed; 413 over the cap
    GET    /v1/settings, PATCH /v1/settings     the client's default time zone for contacts

Agent keys may read but not change (403). Everything is scoped to the key's client, so another
client's phones are simply other contacts.
"""

from __future__ import annotations

import tempfile
from typing import IO

from aiohttp import web

from hub.api.audience_schemas import ContactPatchIn, SettingsIn
from hub.api.guard import key_actor
from hub.api.listener import streams_body
from hub.api.requests import HUB, client_of, principal, read_json
from hub.api.schemas import LinksIn, OwnershipIn, parse
from hub.contacts.audiences import list_contacts
from hub.contacts.directory import issue_links, report_ownership
from hub.contacts.import_formats import read_items
from hub.contacts.importer import import_stream
from hub.contacts.phones import mask_phone, normalize_phone
from hub.contacts.profiles import contact_view, default_zone, erase_contact, patch_contact
from hub.contacts.segment_filter import valid_zone
from hub.errors import RequestError
from hub.security import audit

_KINDS = {
    "text/csv": "csv",
    "application/csv": "csv",
    "text/plain": "csv",
    "application/json": "json",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
}
_SPOOL_IN_MEMORY = 4 * 1024 * 1024


async def post_links(request: web.Request) -> web.Response:
    """Deep links that link the customer's messenger account to this phone when followed."""
    client = await client_of(request)
    phone = normalize_phone(request.match_info["phone"])
    body = parse(LinksIn, await read_json(request) if await request.read() else {})
    hub = request.app[HUB]
    answer = await issue_links(
        hub.uow(),
        client.id,
        phone,
        hub.clock.now(),
        channels=set(body.channels) if body.channels else None,
        ttl_days=body.ttl_days,
        sandbox=hub.config.sandbox.enabled,
    )
    return web.json_response(answer, status=201)


async def post_ownership(request: web.Request) -> web.Response:
    """The client's report that the phone has a new owner: important templates skip messengers."""
    client = await client_of(request)
    phone = normalize_phone(request.match_info["phone"])
    body = parse(OwnershipIn, await read_json(request))
    hub = request.app[HUB]
    return web.json_response(await report_ownership(hub.uow(), client.id, phone, body.state, hub.clock.now()))


def _kind(request: web.Request) -> str:
    given = request.query.get("format")
    kind = given.lower() if given else _KINDS.get(request.content_type)
    if kind not in ("csv", "json", "xlsx"):
        raise RequestError(
            "unsupported_media_type",
            "send text/csv, application/json or an XLSX workbook (or say ?format=csv|json|xlsx)",
            status=415,
        )
    return kind


async def _spool(request: web.Request, limit: int) -> IO[bytes]:
    """The body in a temporary file (memory first, disk past a few MiB); 413 past `limit` bytes."""
    too_large = RequestError(
        "import_too_large",
        f"the file is over {limit} bytes: split it, or import it with `notifyhub import`",
        status=413,
    )
    if request.content_length is not None and request.content_length > limit:
        raise too_large
    spool: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=_SPOOL_IN_MEMORY)  # noqa: SIM115
    size = 0
    try:
        async for chunk in request.content.iter_chunked(1 << 16):
            size += len(chunk)
            if size > limit:
                raise too_large
            spool.write(chunk)
    except BaseException:
        spool.close()
        raise
    spool.seek(0)
    return spool


@streams_body
async def post_import(request: web.Request) -> web.Response:
    """Import contacts from a streamed file: per-row errors, idempotent, nothing written for a bad file."""
    client = await client_of(request)
    hub = request.app[HUB]
    kind = _kind(request)
    with await _spool(request, hub.config.contacts.import_max_bytes) as spool:
        items = read_items(spool, kind, json_error="malformed_json")
        result = await import_stream(hub.uow, client.id, items, hub.clock.now())
    return web.json_response(result.view())


def _limit(raw: str | None) -> int:
    try:
        limit = int(raw or 50)
    except ValueError:
        limit = 0
    if not 1 <= limit <= 500:
        raise RequestError("invalid_field", "limit: an integer 1..500")
    return limit


async def get_contacts(request: web.Request) -> web.Response:
    """A page of contacts by id; `next_cursor` fetches the next one."""
    who = await principal(request)
    q = request.query
    hub = request.app[HUB]
    page = await list_contacts(
        hub.uow(),
        who.client_id,
        hub.clock.now(),
        group=q.get("group") or None,
        segment=q.get("segment") or None,
        q=(q.get("q") or "").strip()[:100] or None,
        cursor=q.get("cursor") or None,
        limit=_limit(q.get("limit")),
    )
    return web.json_response(page)


async def get_contact(request: web.Request) -> web.Response:
    """A contact by phone: profile, identities, ownership and thread."""
    who = await principal(request)
    phone = normalize_phone(request.match_info["phone"])
    hub = request.app[HUB]
    return web.json_response(await contact_view(hub.uow(), who.client_id, phone, hub.clock.now()))


async def patch_contact_view(request: web.Request) -> web.Response:
    """Change a contact's name, attributes, consent or time zone; answers the contact."""
    client = await client_of(request)
    phone = normalize_phone(request.match_info["phone"])
    hub = request.app[HUB]
    body = parse(ContactPatchIn, await read_json(request)).model_dump(exclude_unset=True)
    await patch_contact(hub.uow(), client.id, phone, body, hub.clock.now())
    return web.json_response(await contact_view(hub.uow(), client.id, phone, hub.clock.now()))


async def delete_contact(request: web.Request) -> web.Response:
    """Erase a contact's personal data (its notifications stay in the accounts, without text)."""
    client = await client_of(request)
    phone = normalize_phone(request.match_info["phone"])
    hub = request.app[HUB]
    now = hub.clock.now()
    uow = audit.record(
        hub.uow(), key_actor(request), "contact.erased", now, client_id=client.id, target=mask_phone(phone)
    )
    await erase_contact(uow, client.id, phone)
    return web.Response(status=204)


async def get_settings(request: web.Request) -> web.Response:
    """The client's directory settings."""
    who = await principal(request)
    hub = request.app[HUB]
    return web.json_response({"default_timezone": await default_zone(hub.uow(), who.client_id)})


async def patch_settings(request: web.Request) -> web.Response:
    """Set the zone of contacts whose number names several zones and who gave none."""
    client = await client_of(request)
    zone = parse(SettingsIn, await read_json(request)).default_timezone
    if not valid_zone(zone):
        raise RequestError("invalid_field", "default_timezone: an IANA zone such as Europe/Moscow")
    hub = request.app[HUB]
    async with hub.uow() as uow:
        await uow.clients.set_default_timezone(client.id, zone)
        await uow.commit()
    return web.json_response({"default_timezone": zone})


def setup_contact_routes(app: web.Application) -> None:
    """Directory routes."""
    app.router.add_get("/v1/contacts", get_contacts)
    app.router.add_post("/v1/contacts/import", post_import)
    app.router.add_get("/v1/contacts/{phone}", get_contact)
    app.router.add_patch("/v1/contacts/{phone}", patch_contact_view)
    app.router.add_delete("/v1/contacts/{phone}", delete_contact)
    app.router.add_post("/v1/contacts/{phone}/links", post_links)
    app.router.add_post("/v1/contacts/{phone}/ownership", post_ownership)
    app.router.add_get("/v1/settings", get_settings)
    app.router.add_patch("/v1/settings", patch_settings)
