"""OK (Odnoklassniki) group messages through the Bot API (Graph API) over an injected httpx client.

Sends with `POST {api_base_url}/graph/me/messages/{chat_id}` (or `/graph/me/messages` with
`recipient.user_ids` for a user), subscribes a webhook with `/graph/me/subscribe`, and parses
webhook bodies with the pure `parse_ok_webhook`. OK has no dedupe key on send: the hub dedupes
its own retries; inbound messages are deduplicated by `mid`.

OK errors (`{"error_code", "error_msg": "NAME : text"}`, also the `invocation-error` header)
become hub errors by name, falling back to the numeric code:

    FLOOD_BLOCKED, LIMIT_REACHED, SERVICE, SYSTEM, UNKNOWN, HTTP 5xx, network -> ChannelUnavailable
    no answer after the request went out (read timeout, dropped connection)   -> OutcomeUnknown
    PERMISSION_DENIED (user has not allowed group messages), NOT_FOUND       -> RecipientUnreachable
    PARAM_SESSION_EXPIRED, PARAM_SESSION_KEY, PARAM_API_KEY, PARAM_SIGNATURE  -> ConnectionBroken
    anything else, and a per-recipient `success: false`                       -> ChannelRejected
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from bots.base import BaseChannel, InboundMessage, OutboundMessage, SendResult
from bots.errors import (
    ChannelError,
    ChannelRejected,
    ChannelUnavailable,
    ConnectionBroken,
    OutcomeUnknown,
    RecipientUnreachable,
)
from bots.payload import load_json, timestamp

#: httpx errors raised before OK could have read the request: safe to send again.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.WriteError)

log = logging.getLogger("notifyhub.bots.ok")

RETRY_NAMES = {
    "FLOOD_BLOCKED": 60.0,
    "LIMIT_REACHED": 3600.0,
    "SERVICE": None,
    "SYSTEM": None,
    "UNKNOWN": None,
}
UNREACHABLE_NAMES = frozenset({"PERMISSION_DENIED", "NOT_FOUND"})
BROKEN_NAMES = frozenset({"PARAM_SESSION_EXPIRED", "PARAM_SESSION_KEY", "PARAM_API_KEY", "PARAM_SIGNATURE"})
#: Numeric codes of the names above, used when `error_msg` carries no name.
CODE_NAMES = {
    1: "UNKNOWN",
    2: "SERVICE",
    8: "FLOOD_BLOCKED",
    10: "PERMISSION_DENIED",
    11: "LIMIT_REACHED",
    101: "PARAM_API_KEY",
    102: "PARAM_SESSION_EXPIRED",
    103: "PARAM_SESSION_KEY",
    104: "PARAM_SIGNATURE",
    300: "NOT_FOUND",
    9999: "SYSTEM",
}


@dataclass(frozen=True)
class OkConfig:
    """One OK group connection; the group token never appears in repr."""

    token: str = field(repr=False)
    api_base_url: str = "https://api.ok.ru"
    timeout: float = 15.0


def map_error(code: int | None, message: str) -> ChannelError:
    """The hub error for an OK error (see the module docstring)."""
    name = message.split(" ", 1)[0].strip(":") if message else ""
    if name not in RETRY_NAMES and name not in UNREACHABLE_NAMES and name not in BROKEN_NAMES:
        name = CODE_NAMES.get(code or 0, name)
    if name in RETRY_NAMES:
        return ChannelUnavailable(message, channel="ok", code=code, retry_after=RETRY_NAMES[name])
    if name in UNREACHABLE_NAMES:
        return RecipientUnreachable(message, channel="ok", code=code)
    if name in BROKEN_NAMES:
        return ConnectionBroken(message, channel="ok", code=code)
    return ChannelRejected(message, channel="ok", code=code)


class OkChannel(BaseChannel):
    """OK group messages: send and webhook subscription (inbound arrives by webhook only)."""

    name = "ok"

    def __init__(self, config: OkConfig, client: httpx.AsyncClient | None = None) -> None:
        self.config = config
        self._owns_client = client is None
        self._client = client or httpx.AsyncClient(timeout=config.timeout)

    async def send(self, message: OutboundMessage) -> SendResult:
        """One text message to a dialog chat (`chat:...`) or a user (`user:...` / digits)."""
        path, recipient = _address(message.recipient)
        body = {"recipient": recipient, "message": {"text": message.text}}
        answer = await self._post(path, body)
        result = _first_result(answer)
        if not result.get("success", True) or "error_code" in result:
            raise map_error(_int(result.get("error_code")), str(result.get("error_msg", "success: false")))
        message_id = result.get("message_id") or result.get("mid")
        if not message_id:
            raise ChannelUnavailable("OK answered without a message id", channel="ok")
        log.info("sent leg=%s id=%s", message.leg_key, message_id)
        return SendResult(external_id=str(message_id))

    async def subscribe(self, url: str) -> None:
        """Register the hub's `/channels/ok/{connection}` URL as this group's webhook."""
        answer = await self._post("/graph/me/subscribe", {"url": url})
        if not answer.get("success"):
            raise ChannelRejected(f"subscribe refused: {answer!r}", channel="ok")

    async def _post(self, path: str, body: Mapping[str, Any]) -> dict[str, Any]:
        url = self.config.api_base_url.rstrip("/") + path
        headers = {"Content-Type": "application/json;charset=utf-8"}
        try:
            response = await self._client.post(
                url, params={"access_token": self.config.token}, content=json.dumps(body), headers=headers
            )
        except _NOT_SENT as e:
            raise ChannelUnavailable(f"{path}: {type(e).__name__}", channel="ok") from e
        except httpx.HTTPError as e:  # OK may have acted on it, and has no dedupe key for a resend
            raise OutcomeUnknown(f"{path}: no answer ({type(e).__name__})", channel="ok") from e
        return _decode(response, path)

    async def aclose(self) -> None:
        """Close the httpx client when this adapter created it."""
        if self._owns_client:
            await self._client.aclose()


def _address(recipient: str) -> tuple[str, dict[str, Any]]:
    if recipient.startswith("chat:"):
        return f"/graph/me/messages/{recipient}", {"chat_id": recipient}
    user = recipient if recipient.startswith("user:") else f"user:{recipient}"
    return "/graph/me/messages", {"user_ids": [user]}


def _decode(response: httpx.Response, path: str) -> dict[str, Any]:
    if response.status_code >= 500:
        raise ChannelUnavailable(
            f"{path}: HTTP {response.status_code}", channel="ok", code=response.status_code
        )
    try:
        answer = response.json()
    except ValueError as e:
        raise ChannelUnavailable(f"{path}: non-JSON answer", channel="ok") from e
    header_code = _int(response.headers.get("invocation-error"))
    if isinstance(answer, dict) and ("error_code" in answer or header_code is not None):
        code = _int(answer.get("error_code")) or header_code
        raise map_error(code, str(answer.get("error_msg", "")))
    if response.status_code >= 400 or not isinstance(answer, dict | list):
        raise ChannelRejected(f"{path}: HTTP {response.status_code}", channel="ok", code=response.status_code)
    return answer if isinstance(answer, dict) else {"results": answer}


def _first_result(answer: dict[str, Any]) -> dict[str, Any]:
    """A chat send answers one object; a user_ids send may answer one result per recipient."""
    for key in ("results", "messages"):
        items = answer.get(key)
        if isinstance(items, list) and items and isinstance(items[0], dict):
            return items[0]
    return answer


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


# --- inbound webhook (pure) ------------------------------------------------------------------


@dataclass(frozen=True)
class OkRejection:
    """The body is not an OK webhook at all: answer 400."""

    reason: str
    status: int = 400


@dataclass(frozen=True)
class OkEvents:
    """Messages to commit (deduplicate by `external_id` = mid); answer 200 after committing."""

    events: list[InboundMessage]
    skipped: int = 0


def parse_ok_webhook(
    body: bytes | str | Mapping[str, Any] | Sequence[Any], *, connection_id: int | None = None
) -> OkEvents | OkRejection:
    """Inbound messages from one OK webhook body (one update or a list of them)."""
    try:
        loaded = load_json(body) if isinstance(body, bytes | str) else body
    except ValueError:
        return OkRejection("malformed JSON")
    items: list[Any] = list(loaded) if isinstance(loaded, list | tuple) else [loaded]
    if not all(isinstance(item, Mapping) for item in items):
        return OkRejection("not an OK webhook object")
    events: list[InboundMessage] = []
    skipped = 0
    for item in items:
        try:
            event = _inbound(item, connection_id)
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            skipped += 1
            log.warning("skipped malformed OK update: %r", e)
            continue
        if event is not None:
            events.append(event)
    return OkEvents(events, skipped)


def _inbound(item: Mapping[str, Any], connection_id: int | None) -> InboundMessage | None:
    if item.get("webhookType", "MESSAGE_CREATED") != "MESSAGE_CREATED":
        return None
    message = item["message"]
    return InboundMessage(
        channel="ok",
        sender=str(item["sender"]["user_id"]),
        text=str(message.get("text", "")),
        external_id=str(message["mid"]),
        at=timestamp(item["timestamp"], scale=1000),
        connection_id=connection_id,
    )
