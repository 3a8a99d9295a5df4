"""Channel ingress: `POST /channels/{vk,ok,telegram,sms}/{connection}`, answered after the commit.

Each platform's pure parser (bots/) decides what the body is; this module only finds the
connection, commits the events and answers the way the platform expects:

    unknown, removed or other-channel connection -> 404 JSON error, counted as a drop (a removal
                                                    is seen in the transaction that would commit)
    VK confirmation                             -> the configured string
    VK wrong secret, Telegram wrong secret header -> 403, counted
    body that is not JSON (or not the shape)    -> 400, counted
    a malformed item in a batch                 -> skipped and counted; the valid ones are committed
    receipts for messages we do not know        -> parked by the ingest (a send may be in flight)
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
from hub.channels.adapters import sms_gateway_config, telegram_config, vk_config
from hub.conversations.receive import commit_events
from hub.errors import ConnectionGone, RequestError
from storage.models import Connection

log = logging.getLogger("notifyhub.ingress")
T = TypeVar("T")


@dataclass
class IngressStats:
    """Counters of what ingress accepted and dropped, by channel and reason (for /metrics)."""

    events: Counter[str] = field(default_factory=Counter)
    drops: Counter[tuple[str, str]] = field(default_factory=Counter)

    def drop(self, channel: str, reason: str, count: int = 1) -> None:
        """Count `count` dropped requests or items."""
        if count:
            self.drops[(channel, reason)] += count


INGRESS_STATS = web.AppKey("ingress_stats", IngressStats)
#: Connections seen by id. A connection's channel and settings never change (a new one replaces
#: it), so the row is read once; whether it is still live is checked in the commit transaction.
KNOWN = web.AppKey("ingress_connections", dict[int, Connection])
#: Each known connection's adapter configuration, parsed from its settings once (same reasoning).
CONFIGS = web.AppKey("ingress_configs", dict[int, Any])


def _refuse(stats: IngressStats, channel: str, code: str, message: str, status: int) -> RequestError:
    stats.drop(channel, code)
    log.warning("ingress %s refused (%s): %s", channel, status, message)
    return RequestError(code, message, status=status)


async def _connection(request: web.Request, channel: str) -> Connection:
    stats = request.app[INGRESS_STATS]
    raw = request.match_info["connection"]
    known = request.app[KNOWN]
    found = known.get(int(raw)) if raw.isdigit() else None
    if found is None and raw.isdigit():
        async with request.app[HUB_KEY].uow() as uow:
            found = await uow.connections.get(int(raw))
        if found is not None and found.deleted_at is None:
            known[found.id] = found
    if found is None or found.deleted_at is not None or found.channel != channel:
        raise _refuse(stats, channel, "unknown_connection", f"no {channel} connection {raw}", 404)
    return found


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
        request.app[KNOWN].pop(connection.id, None)
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
    stats.drop("vk", "malformed_item", result.skipped)
    await _commit(request, connection, result.events)
    return web.Response(text="ok")


async def ok_webhook(request: web.Request) -> web.Response:
    """OK Bot API webhook: 200 after the messages are committed."""
    connection = await _connection(request, "ok")
    from bots.ok import OkRejection, parse_ok_webhook

    result = parse_ok_webhook(await request.read(), connection_id=connection.id)
    stats = request.app[INGRESS_STATS]
    if isinstance(result, OkRejection):
        raise _refuse(stats, "ok", "malformed", result.reason, result.status)
    stats.drop("ok", "malformed_item", result.skipped)
    await _commit(request, connection, result.events)
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
    stats.drop("telegram", "malformed_item", result.skipped)
    await _commit(request, connection, result.events)
    return web.json_response({"ok": True})


async def sms_callback(request: web.Request) -> web.Response:
    """SMS gateway status (and incoming message) callback: 200 after the events are committed."""
    connection = await _connection(request, "sms")
    stats = request.app[INGRESS_STATS]
    if connection.settings.get("kind") == "smpp":
        raise _refuse(stats, "sms", "unknown_connection", "an SMPP route takes no HTTP callbacks", 404)
    from bots.sms import parse_sms_callback

    result = parse_sms_callback(
        await request.read(), _parsed(request, connection, sms_gateway_config), connection_id=connection.id
    )
    if result.rejected:
        raise _refuse(stats, "sms", "malformed", result.rejected, 400)
    stats.drop("sms", "malformed_item", result.skipped)
    await _commit(request, connection, result.events)
    return web.json_response({"accepted": len(result.events), "skipped": result.skipped})


def setup_ingress(app: web.Application) -> None:
    """Register the channel ingress routes on the API application."""
    app[INGRESS_STATS] = IngressStats()
    app[KNOWN] = {}
    app[CONFIGS] = {}
    app.router.add_post("/channels/vk/{connection}", vk_callback)
    app.router.add_post("/channels/ok/{connection}", ok_webhook)
    app.router.add_post("/channels/telegram/{connection}", telegram_webhook)
    app.router.add_post("/channels/sms/{connection}", sms_callback)
