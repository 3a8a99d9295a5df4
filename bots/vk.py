"""VK community messages through vkbottle's low-level `API`, with its HTTP client injected.

Sends with `messages.send` (deterministic `random_id` from the leg key, so a retry never
duplicates), withdraws with `messages.delete`, receives through the Bots Long Poll API
(`events()`, cursor = `ts`) or the Callback API (`parse_vk_callback`, pure).

VK error codes become hub errors here and nowhere else:

    5                              -> ConnectionBroken      (token revoked)
    6, 9, 10, 29                   -> ChannelUnavailable    (too many requests, flood, server)
    900, 901, 902, 943, 944, 950   -> RecipientUnreachable  (blocked, no permission, privacy,
                                                             intent refused, 24-hour window)
    anything else                  -> ChannelRejected       (with VK's code and text)
    network errors, timeouts       -> ChannelUnavailable

vkbottle side effects avoided: a `NullHandler` on the "vkbottle" logger stops it adding a
console handler at import, `warnings.showwarning` is restored, each `API` gets its own validator
lists and a rescheduler that fails instead of retrying forever, and no `BotPolling` (which
writes `./.vkbottle/`) is used.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import warnings
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any, Literal

import aiohttp

from bots.backoff import Backoff, BackoffConfig
from bots.base import BaseChannel, EventBatch, InboundMessage, OutboundMessage, SendResult, StatusEvent
from bots.errors import (
    ChannelError,
    ChannelRejected,
    ChannelUnavailable,
    ConnectionBroken,
    RecipientUnreachable,
)
from bots.events import AnyEvent, PermissionEvent, make_batch
from bots.payload import load_json, timestamp
from bots.ratelimit import RateLimiter

logging.getLogger("vkbottle").addHandler(logging.NullHandler())
_showwarning = warnings.showwarning
from vkbottle import API, AiohttpClient, VKAPIError  # noqa: E402
from vkbottle.api.request_rescheduler import ABCRequestRescheduler  # noqa: E402
from vkbottle.api.request_validator import TranslateFriendlyTypesRequestValidator  # noqa: E402
from vkbottle.api.response_validator import (  # noqa: E402
    JSONResponseValidator,
    VKAPIErrorResponseValidator,
)
from vkbottle.http import ABCHTTPClient  # noqa: E402

warnings.showwarning = _showwarning

log = logging.getLogger("notifyhub.bots.vk")

API_VERSION = "5.199"
#: Template category -> VK message intent (needed outside the 24-hour window after the
#: customer's last message). `promo_newsletter` also needs a `subscribe_id` VK-side.
DEFAULT_INTENTS: Mapping[str, str] = MappingProxyType(
    {
        "otp": "confirmed_notification",
        "transactional": "purchase_update",
        "service": "account_update",
        "marketing": "promo_newsletter",
    }
)
RETRY_CODES = {6: 1.0, 9: 30.0, 10: None, 29: 3600.0}
UNREACHABLE_CODES = frozenset({900, 901, 902, 943, 944, 950})
AUTH_CODES = frozenset({5})
CANT_DELETE_CODES = frozenset({15, 924})


@dataclass(frozen=True)
class VkConfig:
    """One VK community connection; the token and secret never appear in repr."""

    group_id: int
    token: str = field(repr=False)
    api_base_url: str = "https://api.vk.com/method"
    secret: str | None = field(default=None, repr=False)
    confirmation: str | None = None
    mode: Literal["longpoll", "callback"] = "longpoll"
    #: Requests per second for this token, shared by every adapter using it.
    rate_limit: int = 20
    wait: int = 25
    timeout: float = 15.0
    intents: Mapping[str, str] = field(default_factory=lambda: DEFAULT_INTENTS)
    backoff: BackoffConfig = field(default_factory=BackoffConfig)


def random_id(leg_key: str) -> int:
    """VK's dedupe key: a stable positive int32 derived from the leg key."""
    digest = hashlib.sha256(leg_key.encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF


def map_error(code: int, text: str) -> ChannelError:
    """The hub error for a VK error code (see the module docstring)."""
    if code in AUTH_CODES:
        return ConnectionBroken(text, channel="vk", code=code)
    if code in RETRY_CODES:
        return ChannelUnavailable(text, channel="vk", code=code, retry_after=RETRY_CODES[code])
    if code in UNREACHABLE_CODES:
        return RecipientUnreachable(text, channel="vk", code=code)
    return ChannelRejected(text, channel="vk", code=code)


class _InvalidResponse(Exception):
    """VK answered something that is not JSON."""


class _FailFastRescheduler(ABCRequestRescheduler):
    """vkbottle's default retries a non-JSON answer forever; we hand it to the hub instead."""

    async def reschedule(self, ctx_api: Any, method: str, data: dict[str, Any], recent_response: Any) -> Any:
        raise _InvalidResponse(f"{method}: non-JSON answer")


@dataclass(frozen=True)
class _LongPollServer:
    server: str
    key: str = field(repr=False)
    ts: str


class VkChannel(BaseChannel):
    """VK community messages: send, delete, and the Bots Long Poll event stream."""

    name = "vk"
    can_withdraw = True

    def __init__(
        self,
        config: VkConfig,
        *,
        http_client: ABCHTTPClient | None = None,
        limiter: RateLimiter | None = None,
        connection_id: int | None = None,
    ) -> None:
        self.config = config
        self.connection_id = connection_id
        self._owns_client = http_client is None
        self._http = http_client or AiohttpClient(timeout=aiohttp.ClientTimeout(total=config.timeout))
        self._limiter = limiter or RateLimiter(config.rate_limit)
        self._api = self._make_api()
        #: Inbound updates skipped because they did not parse (exported as a metric by the hub).
        self.skipped = 0

    def _make_api(self) -> API:
        api = API(self.config.token, http_client=self._http)
        api.API_URL = self.config.api_base_url.rstrip("/") + "/"
        api.API_VERSION = API_VERSION
        api.response_validators = [JSONResponseValidator(), VKAPIErrorResponseValidator()]
        api.request_validators = [TranslateFriendlyTypesRequestValidator()]
        api.request_rescheduler = _FailFastRescheduler()
        return api

    async def call(self, method: str, params: dict[str, Any]) -> Any:
        """One rate-limited API call; returns VK's `response` or raises a hub error."""
        await self._limiter.acquire()
        try:
            answer = await self._api.request(method, params)
        except VKAPIError as e:
            raise map_error(e.code, e.error_msg) from e
        except (aiohttp.ClientError, TimeoutError, _InvalidResponse) as e:
            raise ChannelUnavailable(f"{method}: {type(e).__name__}", channel="vk") from e
        return answer["response"]

    async def send(self, message: OutboundMessage) -> SendResult:
        """`messages.send` to one peer; per-peer errors in the `peer_ids` answer are mapped too."""
        params: dict[str, Any] = {
            "peer_ids": [int(message.recipient)],
            "random_id": random_id(message.leg_key),
            "message": message.text,
        }
        intent = self.config.intents.get(message.category)
        if intent:
            params["intent"] = intent
        response = await self.call("messages.send", params)
        item = response[0] if isinstance(response, list) else {"message_id": response}
        if "error" in item:
            error = item["error"]
            raise map_error(int(error.get("code", 0)), str(error.get("description", "")))
        log.info("sent leg=%s peer=%s id=%s", message.leg_key, message.recipient, item["message_id"])
        return SendResult(external_id=str(item["message_id"]))

    async def withdraw(self, message: OutboundMessage, external_id: str) -> bool:
        """`messages.delete` for everyone; False when VK refuses (too old, not allowed)."""
        params = {
            "peer_id": int(message.recipient),
            "message_ids": [int(external_id)],
            "delete_for_all": 1,
        }
        try:
            response = await self.call("messages.delete", params)
        except ChannelRejected as e:
            if e.code in CANT_DELETE_CODES:
                log.info("withdraw refused id=%s: %s", external_id, e.message)
                return False
            raise
        return _deleted(response, external_id)

    async def events(self, cursor: str | None = None) -> AsyncIterator[EventBatch]:
        """Bots Long Poll updates; each batch's cursor is the `ts` to resume after it."""
        backoff = Backoff(self.config.backoff)
        server = await self._server_with_retry(backoff)
        ts = cursor or server.ts
        while True:
            try:
                body = await self._check(server, ts)
            except ChannelUnavailable as e:
                log.warning("long poll failed group=%s: %s", self.config.group_id, e)
                await backoff.sleep()
                continue
            backoff.reset()
            failed = body.get("failed")
            if failed is not None:
                server, ts = await self._recover(int(failed), body, server, ts, backoff)
                continue
            updates = body.get("updates") or []
            ts = str(body["ts"])
            if updates:
                yield make_batch(self._parse_updates(updates), cursor=ts)

    async def _recover(
        self, failed: int, body: Mapping[str, Any], server: _LongPollServer, ts: str, backoff: Backoff
    ) -> tuple[_LongPollServer, str]:
        """failed 1: continue from the given ts; 2 and 3: new key, and keep our ts.

        For 3 VK says to take the new ts too; we first try ours with the new key, so nothing the
        server still holds is lost: if ours is too old VK answers failed 1 with a valid ts.
        """
        log.info("long poll failed=%s group=%s", failed, self.config.group_id)
        if failed == 1:
            return server, str(body["ts"])
        return await self._server_with_retry(backoff), ts

    async def _server_with_retry(self, backoff: Backoff) -> _LongPollServer:
        while True:
            try:
                answer = await self.call("groups.getLongPollServer", {"group_id": self.config.group_id})
            except ChannelUnavailable as e:
                log.warning("getLongPollServer failed group=%s: %s", self.config.group_id, e)
                await backoff.sleep()
                continue
            backoff.reset()
            return _LongPollServer(server=answer["server"], key=answer["key"], ts=str(answer["ts"]))

    async def _check(self, server: _LongPollServer, ts: str) -> dict[str, Any]:
        params = {"act": "a_check", "key": server.key, "ts": ts, "wait": self.config.wait}
        timeout = aiohttp.ClientTimeout(total=self.config.wait + self.config.timeout)
        try:
            text = await self._http.request_text(server.server, method="GET", params=params, timeout=timeout)
            body = json.loads(text)
        except (aiohttp.ClientError, TimeoutError, ValueError) as e:
            raise ChannelUnavailable(f"long poll: {type(e).__name__}", channel="vk") from e
        if not isinstance(body, dict):
            raise ChannelUnavailable("long poll: unexpected answer", channel="vk")
        return body

    def _parse_updates(self, updates: list[Any]) -> list[AnyEvent]:
        events, skipped = parse_updates(updates, connection_id=self.connection_id)
        self.skipped += skipped
        return events

    async def aclose(self) -> None:
        """Close the HTTP client when this adapter created it."""
        if self._owns_client:
            await self._http.close()


def _deleted(response: Any, external_id: str) -> bool:
    if isinstance(response, dict):
        return bool(response.get(external_id))
    if isinstance(response, list) and response:
        item = response[0]
        return isinstance(item, dict) and "error" not in item and bool(item.get("response", 1))
    return bool(response)


# --- inbound parsing, shared by long poll and callback (pure) ---------------------------------


@dataclass(frozen=True)
class VkConfirmation:
    """Answer VK's `confirmation` request with this text."""

    text: str


@dataclass(frozen=True)
class VkRejection:
    """Refuse the callback request (403 for a wrong secret, 400 for a malformed body)."""

    reason: str
    status: int = 403


@dataclass(frozen=True)
class VkEvents:
    """Events to commit; the hub answers `ok` only after committing them."""

    events: list[AnyEvent]
    #: VK's `event_id`: duplicates of the same id are applied once.
    event_id: str = ""
    skipped: int = 0


VkCallbackResult = VkConfirmation | VkRejection | VkEvents


def parse_vk_callback(
    body: bytes | str | Mapping[str, Any], config: VkConfig, *, connection_id: int | None = None
) -> VkCallbackResult:
    """Decide what to answer a Callback API request to `/channels/vk/{connection}`."""
    update = _load(body)
    if update is None:
        log.warning("callback: malformed body group=%s", config.group_id)
        return VkRejection("malformed body", status=400)
    if update.get("group_id") != config.group_id:
        log.warning("callback: wrong group_id=%r", update.get("group_id"))
        return VkRejection("wrong group_id")
    if update.get("type") == "confirmation":
        if config.confirmation is None:
            return VkRejection("no confirmation string configured", status=400)
        return VkConfirmation(config.confirmation)
    if config.secret is not None and not hmac.compare_digest(
        str(update.get("secret", "")).encode(), config.secret.encode()
    ):
        log.warning("callback: wrong secret group=%s", config.group_id)
        return VkRejection("wrong secret")
    events, skipped = parse_updates([update], connection_id=connection_id)
    return VkEvents(events, event_id=str(update.get("event_id", "")), skipped=skipped)


def _load(body: bytes | str | Mapping[str, Any]) -> Mapping[str, Any] | None:
    if isinstance(body, Mapping):
        return body
    try:
        loaded = load_json(body)
    except ValueError:
        return None
    return loaded if isinstance(loaded, dict) else None


def parse_updates(updates: list[Any], *, connection_id: int | None = None) -> tuple[list[AnyEvent], int]:
    """Events from VK updates and how many were skipped as malformed (each logged)."""
    events: list[AnyEvent] = []
    skipped = 0
    for update in updates:
        try:
            event = _parse_update(update, connection_id)
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            skipped += 1
            log.warning("skipped malformed update event_id=%s: %r", _event_id(update), e)
            continue
        if event is not None:
            events.append(event)
    return events, skipped


def _event_id(update: Any) -> str:
    return str(update.get("event_id", "?")) if isinstance(update, Mapping) else "?"


def _parse_update(update: Mapping[str, Any], connection_id: int | None) -> AnyEvent | None:
    kind = update["type"]
    obj = update["object"]
    event_id = str(update.get("event_id", ""))
    if kind == "message_new":
        return _inbound(obj["message"], connection_id)
    if kind in ("message_allow", "message_deny"):
        return PermissionEvent(
            channel="vk",
            sender=str(int(obj["user_id"])),
            allowed=kind == "message_allow",
            at=datetime.now(UTC),
            external_id=event_id,
            connection_id=connection_id,
            ref=obj.get("key") or None,
        )
    if kind == "message_read":
        return StatusEvent("vk", str(int(obj["read_message_id"])), "read", datetime.now(UTC))
    return None  # message_reply (our own outgoing) and unrelated event types


def _inbound(message: Mapping[str, Any], connection_id: int | None) -> InboundMessage | None:
    from_id = int(message["from_id"])
    if from_id <= 0 or message.get("out"):
        return None
    message_id = int(message.get("id") or 0)
    external_id = (
        str(message_id) if message_id else f"{message['peer_id']}_{message['conversation_message_id']}"
    )
    return InboundMessage(
        channel="vk",
        sender=str(from_id),
        text=str(message["text"]),
        external_id=external_id,
        at=timestamp(message["date"]),
        connection_id=connection_id,
        ref=message.get("ref") or None,
    )
