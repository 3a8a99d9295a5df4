"""What every route module needs from a request: the hub, the JSON body, the caller, the error shape.

Route modules import these from here; the app module (`hub.api.app`) imports the route modules.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from hub.api.guard import CALLER, caller_ip
from hub.api.request_input import check_text, parse_json
from hub.bootstrap import Hub
from hub.errors import RequestError
from hub.ids import hash_key
from hub.security.accounts import authenticate
from hub.security.failed_attempts import FAILED_ATTEMPTS
from storage.models import Client

HUB = web.AppKey("hub", Hub)


def error_response(error: RequestError) -> web.Response:
    """`{error: {code, message}}` with the error's HTTP status (and `Retry-After` when it has one)."""
    headers = {"Retry-After": str(error.retry_after)} if error.retry_after is not None else None
    body = {"error": {"code": error.code, "message": error.message}}
    return web.json_response(body, status=error.status, headers=headers)


async def read_json(request: web.Request, *, text_checked: bool = True) -> dict[str, Any]:
    """The request's JSON object; every string in it checked storable unless the caller checks parts."""
    body = parse_json(await request.read())
    if not isinstance(body, dict):
        raise RequestError("malformed_json", "the body must be a JSON object", status=400)
    if text_checked:
        check_text(body)
    return body


async def client_of(request: web.Request) -> Client:
    """The client behind a bearer key; agent keys may only read."""
    header = request.headers.get("Authorization", "")
    scheme, _, key = header.partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise RequestError("unauthorized", "send your API key as 'Authorization: Bearer <key>'", status=401)
    caller = request.get(CALLER)  # resolved by the guard (allow-list and rate limit already applied)
    found = (caller.client, caller.key.role) if caller else None
    found = found or await authenticate(request.app[HUB].uow(), key.strip(), request.app[HUB].clock.now())
    if found is None:
        raise RequestError("unauthorized", "this API key is not valid", status=401)
    if found[1] != "client" and request.method != "GET":  # agent keys read; only client keys send
        raise RequestError("forbidden", "this needs the client's API key, not an agent key", status=403)
    return found[0]


def admin_token_matches(request: web.Request, given: str) -> bool:
    """Compare `given` with the admin token, counting a miss against the caller's address (429 when over)."""
    hub = request.app[HUB]
    token = hub.config.admin_token
    if token is None:
        return False
    attempts, address, now = request.app[FAILED_ATTEMPTS], caller_ip(request) or "-", hub.clock.now()
    refusal = attempts.refusal(address, now)
    if refusal is not None:
        raise refusal
    if hmac.compare_digest(given.encode(), token.get_secret_value().encode()):
        return True
    attempts.failed(address, now)
    return False


def require_admin(request: web.Request) -> None:
    """Refuse unless the request carries the operator's admin token."""
    if request.app[HUB].config.admin_token is None:
        raise RequestError(
            "admin_disabled", "set admin_token (NOTIFYHUB_ADMIN_TOKEN) to use the admin API", status=403
        )
    given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    if not admin_token_matches(request, given):
        raise RequestError("unauthorized", "this admin token is not valid", status=401)


@dataclass(frozen=True)
class Principal:
    """Who is calling: the client, the key's role and (for agents) the agent's name."""

    client_id: str
    role: str
    name: str


async def principal(request: web.Request) -> Principal:
    """The caller behind a bearer key (client or agent), or 401."""
    caller = request.get(CALLER)  # resolved by the guard (allow-list and rate limit already applied)
    if caller is not None:
        return Principal(caller.client.id, caller.key.role, caller.key.name or caller.key.role)
    scheme, _, key = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise RequestError("unauthorized", "send your API key as 'Authorization: Bearer <key>'", status=401)
    async with request.app[HUB].uow() as uow:
        found = await uow.clients.principal(hash_key(key.strip()), request.app[HUB].clock.now())
    if found is None:
        raise RequestError("unauthorized", "this API key is not valid", status=401)
    client, api_key = found
    return Principal(client.id, api_key.role, api_key.name or api_key.role)
