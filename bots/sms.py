"""SMS through an HTTP gateway (httpx), delivery callbacks parsed purely, and route failover.

`HttpSmsChannel` posts a JSON or form body whose field names come from configuration, so one
adapter fits most gateways. It sends the leg key as the gateway's client-side id (where the
gateway dedupes on it). `FailoverSms` tries routes in order: a route that errors hands the
message to the next; a route that timed out is never tried again for that leg, because it may
have sent the message after all. `SendResult.units` is the segment count (cost per segment).

    HTTP 429                        -> ChannelUnavailable(retry_after=Retry-After)
    HTTP 5xx, network, timeout      -> ChannelUnavailable
    HTTP 401/403                    -> ConnectionBroken
    other 4xx                       -> ChannelRejected
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

import httpx

from bots.base import BaseChannel, InboundMessage, OutboundMessage, SendResult, StatusEvent
from bots.errors import (
    ChannelError,
    ChannelRejected,
    ChannelUnavailable,
    ConnectionBroken,
    RecipientUnreachable,
)
from bots.payload import load_json
from bots.privacy import mask_phone
from bots.segments import count_segments, validate_sender

log = logging.getLogger("notifyhub.bots.sms")


@dataclass(frozen=True)
class SmsGatewayConfig:
    """One HTTP SMS gateway route: where to post, how its fields are named, what statuses mean."""

    api_base_url: str
    sender: str
    token: str = field(default="", repr=False)
    name: str = "gateway"
    send_path: str = "/send"
    body_format: Literal["json", "form"] = "json"
    field_to: str = "to"
    field_text: str = "text"
    field_sender: str = "from"
    #: Where the leg key goes so the gateway dedupes retries; None when it has no such field.
    field_client_id: str | None = "client_id"
    response_id_field: str = "id"
    callback_id_field: str = "id"
    callback_status_field: str = "status"
    callback_error_field: str = "error"
    delivered_values: tuple[str, ...] = ("delivered", "DELIVRD")
    failed_values: tuple[str, ...] = (
        "failed",
        "undelivered",
        "rejected",
        "expired",
        "UNDELIV",
        "REJECTD",
        "EXPIRED",
    )
    timeout: float = 10.0

    def __post_init__(self) -> None:
        validate_sender(self.sender)


def _http_error(response: httpx.Response) -> ChannelError:
    status = response.status_code
    text = f"HTTP {status}: {response.text[:200]}"
    if status == 429:
        retry = response.headers.get("Retry-After")
        retry_after = float(retry) if retry and retry.isdigit() else None
        return ChannelUnavailable(text, channel="sms", code=status, retry_after=retry_after)
    if status >= 500:
        return ChannelUnavailable(text, channel="sms", code=status)
    if status in (401, 403):
        return ConnectionBroken(text, channel="sms", code=status)
    return ChannelRejected(text, channel="sms", code=status)


class HttpSmsChannel(BaseChannel):
    """SMS via an HTTP gateway; receipts and replies arrive by callback (`parse_sms_callback`)."""

    name = "sms"

    def __init__(self, config: SmsGatewayConfig, client: httpx.AsyncClient | None = None) -> None:
        self.config = config
        self._owns_client = client is None
        self._client = client or httpx.AsyncClient(timeout=config.timeout)

    def _body(self, message: OutboundMessage) -> dict[str, str]:
        c = self.config
        body = {c.field_to: message.recipient, c.field_text: message.text, c.field_sender: c.sender}
        if c.field_client_id:
            body[c.field_client_id] = message.leg_key
        return body

    async def send(self, message: OutboundMessage) -> SendResult:
        """Post one SMS; units = segments of the text."""
        c = self.config
        body = self._body(message)
        headers = {"Authorization": f"Bearer {c.token}"} if c.token else {}
        kwargs: dict[str, Any] = {"json": body} if c.body_format == "json" else {"data": body}
        try:
            response = await self._client.post(
                c.api_base_url.rstrip("/") + c.send_path, headers=headers, **kwargs
            )
        except httpx.HTTPError as e:
            raise ChannelUnavailable(f"{c.name}: {type(e).__name__}", channel="sms") from e
        if response.status_code >= 300:
            raise _http_error(response)
        external_id = _response_id(response, c.response_id_field)
        log.info(
            "sent route=%s leg=%s to=%s id=%s",
            c.name,
            message.leg_key,
            mask_phone(message.recipient),
            external_id,
        )
        return SendResult(external_id=external_id, units=count_segments(message.text))

    async def aclose(self) -> None:
        """Close the httpx client when this adapter created it."""
        if self._owns_client:
            await self._client.aclose()


def _response_id(response: httpx.Response, field_name: str) -> str:
    try:
        value = response.json().get(field_name)
    except (ValueError, AttributeError) as e:
        raise ChannelUnavailable("gateway answered without JSON", channel="sms") from e
    if value in (None, ""):
        raise ChannelUnavailable(f"gateway answered without {field_name!r}", channel="sms")
    return str(value)


# --- delivery-report and reply callbacks (pure) ---------------------------------------------


@dataclass(frozen=True)
class SmsCallbackResult:
    """Receipts and replies from one callback body; `skipped` counts malformed items."""

    events: list[StatusEvent | InboundMessage]
    skipped: int = 0
    rejected: str | None = None


def parse_sms_callback(
    body: bytes | str | Mapping[str, Any] | Sequence[Any],
    config: SmsGatewayConfig,
    *,
    connection_id: int | None = None,
) -> SmsCallbackResult:
    """Delivery reports (id + status) and incoming messages (from + text) from a gateway callback."""
    try:
        data = load_json(body) if isinstance(body, bytes | str) else body
    except ValueError:
        return SmsCallbackResult([], rejected="malformed JSON")
    items = [data] if isinstance(data, Mapping) else data
    if not isinstance(items, list | tuple):
        return SmsCallbackResult([], rejected="not an object or a list")
    events: list[StatusEvent | InboundMessage] = []
    skipped = 0
    for item in items:
        try:
            event = _callback_item(item, config, connection_id)
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            skipped += 1
            log.warning("skipped malformed SMS callback item route=%s: %r", config.name, e)
            continue
        if event is not None:
            events.append(event)
    return SmsCallbackResult(events, skipped)


def _callback_item(
    item: Mapping[str, Any], c: SmsGatewayConfig, connection_id: int | None
) -> StatusEvent | InboundMessage | None:
    if c.callback_status_field in item:
        status = str(item[c.callback_status_field])
        external_id = str(item[c.callback_id_field])
        now = datetime.now(UTC)
        if status in c.delivered_values:
            return StatusEvent("sms", external_id, "delivered", now)
        if status in c.failed_values:
            error = str(item.get(c.callback_error_field) or status)
            return StatusEvent("sms", external_id, "failed", now, error=error)
        return None  # intermediate states (queued, sent, enroute)
    sender = str(item[c.field_sender])
    phone = sender if sender.startswith("+") else f"+{sender}"
    return InboundMessage(
        channel="sms",
        sender=phone,
        text=str(item[c.field_text]),
        external_id=str(item[c.callback_id_field]),
        at=datetime.now(UTC),
        connection_id=connection_id,
        phone=phone,
    )


# --- failover over several routes -----------------------------------------------------------


class FailoverSms(BaseChannel):
    """Several SMS routes in order; each message reaches the customer through one route only."""

    name = "sms"

    def __init__(
        self, routes: Sequence[BaseChannel], *, route_timeout: float = 10.0, memory: int = 100_000
    ) -> None:
        if not routes:
            raise ValueError("FailoverSms needs at least one route")
        self.routes = list(routes)
        self.route_timeout = route_timeout
        self._memory = memory
        self._done: OrderedDict[str, SendResult] = OrderedDict()
        self._ambiguous: OrderedDict[str, set[int]] = OrderedDict()

    async def send(self, message: OutboundMessage) -> SendResult:
        """First route that accepts wins; errors move on, timeouts are never retried for this leg."""
        if message.leg_key in self._done:
            return self._done[message.leg_key]
        errors: list[ChannelError] = []
        for index, route in enumerate(self.routes):
            if index in self._ambiguous.get(message.leg_key, set()):
                continue
            try:
                result = await asyncio.wait_for(route.send(message), self.route_timeout)
            except TimeoutError:
                self._remember(
                    self._ambiguous, message.leg_key, {*self._ambiguous.get(message.leg_key, set()), index}
                )
                errors.append(ChannelUnavailable(f"route {index} timed out", channel="sms"))
            except (ChannelUnavailable, RecipientUnreachable, ConnectionBroken) as e:
                errors.append(e)
            else:
                self._remember(self._done, message.leg_key, result)
                return result
            log.warning("route %s failed leg=%s: %s", index, message.leg_key, errors[-1])
        raise _all_failed(errors)

    def _remember(self, store: OrderedDict[str, Any], key: str, value: Any) -> None:
        store[key] = value
        store.move_to_end(key)
        while len(store) > self._memory:
            store.popitem(last=False)

    async def aclose(self) -> None:
        """Close every route."""
        for route in self.routes:
            await route.aclose()


def _all_failed(errors: list[ChannelError]) -> ChannelError:
    if errors and all(isinstance(e, RecipientUnreachable) for e in errors):
        return RecipientUnreachable("no route reaches this number", channel="sms")
    detail = "; ".join(str(e) for e in errors) or "every route may already have sent it"
    return ChannelUnavailable(f"all SMS routes failed: {detail}", channel="sms")
