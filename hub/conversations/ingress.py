"""Channel ingress: `POST /channels/{vk,ok,telegram,sms}/{token}`, answered after the commit.

The last path segment is the connection's random callback token (never its row id). The sender
is checked before the body is parsed (see `hub.conversations.callback_auth`); each platform's pure parser
(bots/) then decides what the body is; this module only finds the connection, commits the
events and answers the way the platform expects:

    unknown, removed or other-channel token     -> 404 JSON error (a removal is seen in the
                                                   transaction that would commit)
    address outside the connection's allow-list -> 403 ip_not_allowed
    SMS without the route's Basic credentials or secret header -> 401 unauthorized
    VK confirmation                             -> the configured string
    VK wrong secret, Telegram wrong secret header -> 403 forbidden
    body that is not JSON, nested too deep, or not the shape -> 400 malformed
    a malformed item in a batch                 -> skipped and counted; the valid ones are committed
    a body whose every item is malformed        -> 400 malformed
    receipts for messages we do not know        -> parked by the ingest (a send may be in flight),
                                                   at most `security.parked_receipts_per_connection`

Every refusal is counted by channel and reason (`notifyhub_ingress_refused_total` in /metrics)
and nothing of a refused request is stored.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from aiohttp import web

from bots.events import AnyEvent
from hub.api.requests import HUB as HUB_KEY
from hub.api.requests import error_response
from hub.channels.adapters import sms_gateway_config, telegram_config, vk_config
from hub.conversations.callback_auth import sms_refusal, token_shaped
from hub.conversations.receive import commit_events, storable_events
from hub.errors import ConnectionGone, RequestError
from hub.security.allowlist import allowed, client_ip
from storage.models import Connection

log = logging.getLogger("notifyhub.ingress")
T = TypeVar("T")


@dataclass
class IngressStats:
    """Counters of what ingress accepted and dropped, by channel and reason (for /metrics)."""

    events: Counter[str] = field(default_factory=Counter)
    drops: Counter[tuple[str, str]] = field(default_factory=Counter)
    #: Whole requests refused (forged, hostile or malformed), by channel and reason.
    refused: Counter[tuple[str, str]] = field(default_factory=Counter)

    def drop(self, channel: str, reason: str, count: int = 1) -> None:
        """Count `count` dropped requests or items."""
        if count:
            self.drops[(channel, reason)] += count


INGRESS_STATS = web.AppKey("ingress_stats", IngressStats)
#: Connections seen by callback token. A connection's channel, settings and allow-list never change
#: (a new one replaces it), so the row is read once; whether it is still live is checked in the
#: commit transaction.
KNOWN = web.AppKey("ingress_connections", dict[str, Connection])
#: Each known connection's adapter configuration, parsed from its settings once (same reasoning).
CONFIGS = web.AppKey("ingress_configs", dict[int, Any])


def _refuse(stats: IngressStats, channel: str, code: str, message: str, status: int) -> RequestError:
    stats.drop(channel, code)
    stats.refused[(channel, code)] += 1
    log.warning("ingress %s refused (%s): %s", channel, status, message)
    return RequestError(code, message, status=status)


async def _connection(request: web.Request, channel: str) -> Connection:
    """The live connection the URL's token names, called from an allowed address; else 404/403."""
    stats = request.app[INGRESS_STATS]
    raw = request.match_info["connection"]
    known = request.app[KNOWN]
    found = known.get(raw)
    if found is None and token_shaped(raw):
        async with request.app[HUB_KEY].uow() as uow:
            found = await uow.connections.by_callback_token(raw)
        if found is not None and found.deleted_at is None:
            known[raw] = found
    if found is None or found.deleted_at is not None or found.channel != channel:
        # the token is a secret: never echoed, never logged
        raise _refuse(stats, channel, "unknown_connection", f"no {channel} connection at this URL", 404)
    if found.ip_allowlist:
        trusted = request.app[HUB_KEY].config.server.trusted_proxies
        ip = client_ip(request.remote, request.headers.get("X-Forwarded-For"), trusted)
        if not allowed(ip, found.ip_allowlist):
            message = f"connection {found.id} takes callbacks only from its allow-list, not {ip}"
            raise _refuse(stats, channel, "ip_not_allowed", message, 403)
    return found


def _usable(stats: IngressStats, channel: str, events: list[AnyEvent], skipped: int) -> list[AnyEvent]:
    """The events worth committing; a body that carried items but no usable one is refused (400)."""
    kept, unstorable = storable_events(events)
    skipped += unstorable
    if skipped and not kept:
        raise _refuse(stats, channel, "malformed", "no usable item in the body", 400)
    stats.drop(channel, "malformed_item", skipped)
    return kept


def _parsed(request: web.Request, connection: Connection, parse: Callable[[Connection], T]) -> T:
    """The connection's adapter configuration, parsed on its first request."""
    configs = request.app[CONFIGS]
    found = configs.get(connection.id)
    if found is None:
        found = configs[connection.id] = parse(connection)
    return found


async def _commit(request: web.Request, connection: Connection, events: Sequence[AnyEvent]) -> None:
    hub = request.app[HUB_KEY]
    try:
        await commit_events(hub.ingest, hub.uow, connection.id, events, hub.clock.now())
    except ConnectionGone as e:
        request.app[KNOWN].pop(connection.callback_token, None)
        request.app[CONFIGS].pop(connection.id, None)
        channel, stats = connection.channel, request.app[INGRESS_STATS]
        message = f"no {channel} connection {connection.id}"
        raise _refuse(stats, channel, "unknown_connection", message, 404) from e
    request.app[INGRESS_STATS].events[connection.channel] += len(events)


async def vk_callback(request: web.Request) -> web.Response:
    """VK Callback API: confirmation string, secret check, `ok` once the events are committed."""
    connection = await _connection(request, "vk")
    from bots.vk import VkConfirmation, VkRejection, parse_vk_callback  # heavy: import on first use

    config = _parsed(request, connection, vk_config)
    result = parse_vk_callback(await request.read(), config, connection_id=connection.id)
    stats = request.app[INGRESS_STATS]
    if isinstance(result, VkConfirmation):
        return web.Response(text=result.text)
    if isinstance(result, VkRejection):
        code = "forbidden" if result.status == 403 else "malformed"
        raise _refuse(stats, "vk", code, result.reason, result.status)
    await _commit(request, connection, _usable(stats, "vk", result.events, result.skipped))
    return web.Response(text="ok")


async def ok_webhook(request: web.Request) -> web.Response:
    """OK Bot API webhook: 200 after the messages are committed."""
    connection = await _connection(request, "ok")
    from bots.ok import OkRejection, parse_ok_webhook

    result = parse_ok_webhook(await request.read(), connection_id=connection.id)
    stats = request.app[INGRESS_STATS]
    if isinstance(result, OkRejection):
        raise _refuse(stats, "ok", "malformed", result.reason, result.status)
    await _commit(request, connection, _usable(stats, "ok", list(result.events), result.skipped))
    return web.json_response({"ok": True})


async def telegram_webhook(request: web.Request) -> web.Response:
    """Telegram webhook with the secret-token header: 200 after the update is committed."""
    connection = await _connection(request, "telegram")
    config = _parsed(request, connection, telegram_config)
    from bots.telegram import TelegramRejection, parse_telegram_update  # heavy: import on first use

    result = parse_telegram_update(await request.read(), request.headers, config, connection_id=connection.id)
    stats = request.app[INGRESS_STATS]
    if isinstance(result, TelegramRejection):
        code = "forbidden" if result.status == 403 else "malformed"
        raise _refuse(stats, "telegram", code, result.reason, result.status)
    await _commit(request, connection, _usable(stats, "telegram", result.events, result.skipped))
    return web.json_response({"ok": True})


async def sms_callback(request: web.Request) -> web.Response:
    """SMS gateway status (and incoming message) callback: 200 after the events are committed."""
    connection = await _connection(request, "sms")
    stats = request.app[INGRESS_STATS]
    if connection.settings.get("kind") == "smpp":
        raise _refuse(stats, "sms", "unknown_connection", "an SMPP route takes no HTTP callbacks", 404)
    refusal = sms_refusal(request.headers, connection.settings)
    if refusal is not None:
        error = _refuse(stats, "sms", "unauthorized", refusal, 401)
        answer = error_response(error)
        if connection.settings.get("callback_user"):
            answer.headers["WWW-Authenticate"] = 'Basic realm="notifyhub callbacks", charset="UTF-8"'
        return answer
    from bots.sms import parse_sms_callback

    result = parse_sms_callback(
        await request.read(), _parsed(request, connection, sms_gateway_config), connection_id=connection.id
    )
    if result.rejected:
        raise _refuse(stats, "sms", "malformed", result.rejected, 400)
    events = _usable(stats, "sms", list(result.events), result.skipped)
    await _commit(request, connection, events)
    skipped = result.skipped + len(result.events) - len(events)
    return web.json_response({"accepted": len(events), "skipped": skipped})


def setup_ingress(app: web.Application) -> None:
    """Register the channel ingress routes on the API application."""
    app[INGRESS_STATS] = IngressStats()
    app[KNOWN] = {}
    app[CONFIGS] = {}
    app.router.add_post("/channels/vk/{connection}", vk_callback)
    app.router.add_post("/channels/ok/{connection}", ok_webhook)
    app.router.add_post("/channels/telegram/{connection}", telegram_webhook)
    app.router.add_post("/channels/sms/{connection}", sms_callback)
