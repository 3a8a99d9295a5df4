"""HTTP API for the contact directory: deep links, ownership reports and imports (client keys only).

    POST /v1/contacts/{phone}/links      one-time deep links per channel (201)
    POST /v1/contacts/{phone}/ownership  the client reports the phone changed hands
    POST /v1/contacts/import             CSV (text/csv) or JSON (a list, or {"contacts": [...]})

Agent keys are refused (403): these change the client's directory. Everything is scoped to the
key's client, so another client's phones are simply other contacts.
"""

from __future__ import annotations

from aiohttp import web

from hub.api.request_input import check_text
from hub.api.request_input import read_json as parse_json
from hub.api.requests import HUB, client_of, read_json
from hub.api.schemas import LinksIn, OwnershipIn, parse
from hub.contacts.directory import issue_links, report_ownership
from hub.contacts.import_file import json_items, parse_import, validate
from hub.contacts.importer import import_contacts
from hub.contacts.phones import normalize_phone
from hub.errors import RequestError

MAX_IMPORT_ROWS = 10_000
_CSV = ("text/csv", "application/csv", "text/plain")


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


async def post_import(request: web.Request) -> web.Response:
    """Import known identities and consent; per-row errors, idempotent, nothing written for a bad file."""
    client = await client_of(request)
    hub = request.app[HUB]
    now = hub.clock.now()
    raw = await request.read()
    if request.content_type in _CSV:
        parsed = parse_import(raw, "csv", now, MAX_IMPORT_ROWS)
        if b"\x00" in raw:  # after parsing: a file that is no text at all is `malformed_import`
            raise RequestError("invalid_text", "the file contains a NUL character")
    elif request.content_type == "application/json":
        loaded = parse_json(raw)
        check_text(loaded)
        items = json_items(loaded)
        if not items:
            raise RequestError("empty_import", "the import has no contacts in it")
        if len(items) > MAX_IMPORT_ROWS:
            raise RequestError(
                "too_many_rows", f"{len(items)} rows: import at most {MAX_IMPORT_ROWS} at once"
            )
        parsed = validate(items, now)
    else:
        raise RequestError(
            "unsupported_media_type", "send text/csv or application/json (a list of contacts)", status=415
        )
    result = await import_contacts(hub.uow, client.id, parsed, now)
    return web.json_response(result.view())


def setup_contact_routes(app: web.Application) -> None:
    """Directory routes (`GET /v1/contacts/{phone}` lives with the threads)."""
    app.router.add_post("/v1/contacts/import", post_import)
    app.router.add_post("/v1/contacts/{phone}/links", post_links)
    app.router.add_post("/v1/contacts/{phone}/ownership", post_ownership)
