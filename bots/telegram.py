"""Telegram bots through aiogram's `Bot` with an `AiohttpSession` pointed at `api_base_url`.

Sends with `sendMessage` (Telegram has no dedupe key: the hub dedupes its own retries),
withdraws with `deleteMessage`, receives by `getUpdates` long polling (`events()`, cursor = the
next offset, so nothing repeats after a restart) or by webhook (`parse_telegram_update`, pure,
checks `X-Telegram-Bot-Api-Secret-Token`). Identity linking: `/start <token>` deep links give
`InboundMessage.ref`; a shared contact gives `InboundMessage.phone` only when it is the sender's own.

aiogram errors become hub errors here:

    TelegramRetryAfter (429)                       -> ChannelUnavailable(retry_after=...)
    TelegramNetworkError, TelegramServerError, 409 -> ChannelUnavailable
    sendMessage with no answer after it went out   -> OutcomeUnknown (never sent again)
    TelegramForbiddenError (blocked, can't initiate conversation), "chat not found"
                                                   -> RecipientUnreachable
    TelegramUnauthorizedError (token revoked)      -> ConnectionBroken
    any other TelegramAPIError                     -> ChannelRejected
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.session.base import BaseSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramConflictError,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.types import KeyboardButton, Message, ReplyKeyboardMarkup, Update
from aiohttp import ClientConnectorError
from pydantic import ValidationError

from bots.backoff import Backoff, BackoffConfig
from bots.base import BaseChannel, EventBatch, InboundMessage, OutboundMessage, SendResult
from bots.errors import (
    ChannelError,
    ChannelRejected,
    ChannelUnavailable,
    ConnectionBroken,
    OutcomeUnknown,
    RecipientUnreachable,
)
from bots.events import AnyEvent, PermissionEvent, make_batch
from bots.payload import load_json

log = logging.getLogger("notifyhub.bots.telegram")

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
ALLOWED_UPDATES = ["message", "my_chat_member"]


@dataclass(frozen=True)
class TelegramConfig:
    """One Telegram bot connection; the token and webhook secret never appear in repr."""

    token: str = field(repr=False)
    api_base_url: str = "https://api.telegram.org"
    webhook_secret: str | None = field(default=None, repr=False)
    poll_timeout: int = 25
    backoff: BackoffConfig = field(default_factory=BackoffConfig)
    #: Seconds a call (other than long polling) may take; under the dispatcher's hard send timeout.
    timeout: float = 15.0


def map_error(e: TelegramAPIError) -> ChannelError:
    """The hub error for an aiogram error (see the module docstring)."""
    text = e.message
    if isinstance(e, TelegramRetryAfter):
        return ChannelUnavailable(text, channel="telegram", code=429, retry_after=float(e.retry_after))
    if isinstance(e, TelegramNetworkError | TelegramServerError | TelegramConflictError):
        return ChannelUnavailable(text, channel="telegram")
    if isinstance(e, TelegramForbiddenError):
        return RecipientUnreachable(text, channel="telegram", code=403)
    if isinstance(e, TelegramUnauthorizedError):
        return ConnectionBroken(text, channel="telegram", code=401)
    if isinstance(e, TelegramBadRequest) and "chat not found" in text.lower():
        return RecipientUnreachable(text, channel="telegram", code=400)
    return ChannelRejected(text, channel="telegram", code=getattr(e, "error_code", None))


def _unanswered(e: TelegramNetworkError) -> ChannelError:
    """A send with no answer: not sent when the connection never opened; otherwise Telegram may have
    delivered it, and sendMessage has no dedupe key, so it must not be sent again."""
    if isinstance(e.__cause__, ClientConnectorError):
        return ChannelUnavailable(e.message, channel="telegram")
    return OutcomeUnknown(f"sendMessage: no answer ({e.message})", channel="telegram")


def contact_keyboard(label: str = "Share my phone number") -> ReplyKeyboardMarkup:
    """A one-button keyboard asking the customer to share their own contact."""
    button = KeyboardButton(text=label, request_contact=True)
    return ReplyKeyboardMarkup(keyboard=[[button]], resize_keyboard=True, one_time_keyboard=True)


class TelegramChannel(BaseChannel):
    """A Telegram bot: send, delete, contact requests and the getUpdates event stream."""

    name = "telegram"
    can_withdraw = True

    def __init__(
        self, config: TelegramConfig, *, session: BaseSession | None = None, connection_id: int | None = None
    ) -> None:
        self.config = config
        self.connection_id = connection_id
        api = TelegramAPIServer.from_base(config.api_base_url.rstrip("/"))
        self.bot = Bot(config.token, session=session or AiohttpSession(api=api, timeout=config.timeout))
        #: Updates skipped because they did not parse (exported as a metric by the hub).
        self.skipped = 0

    async def send(self, message: OutboundMessage) -> SendResult:
        """`sendMessage` to the recipient's chat id (with the share-contact button when it asks for one)."""
        markup = contact_keyboard("Поделиться номером") if message.ask_phone else None
        try:
            sent = await self.bot.send_message(
                chat_id=_chat_id(message.recipient), text=message.text, reply_markup=markup
            )
        except TelegramNetworkError as e:
            raise _unanswered(e) from e
        except TelegramAPIError as e:
            raise map_error(e) from e
        log.info("sent leg=%s id=%s", message.leg_key, sent.message_id)
        return SendResult(external_id=str(sent.message_id))

    async def request_contact(self, chat_id: str, text: str) -> SendResult:
        """Ask the customer to share their phone number (for identity linking)."""
        try:
            sent = await self.bot.send_message(
                chat_id=_chat_id(chat_id), text=text, reply_markup=contact_keyboard()
            )
        except TelegramAPIError as e:
            raise map_error(e) from e
        return SendResult(external_id=str(sent.message_id))

    async def withdraw(self, message: OutboundMessage, external_id: str) -> bool:
        """`deleteMessage`; False when Telegram refuses (too old, already gone)."""
        try:
            return await self.bot.delete_message(
                chat_id=_chat_id(message.recipient), message_id=int(external_id)
            )
        except TelegramBadRequest as e:
            log.info("withdraw refused id=%s: %s", external_id, e.message)
            return False
        except TelegramAPIError as e:
            raise map_error(e) from e

    async def events(self, cursor: str | None = None) -> AsyncIterator[EventBatch]:
        """getUpdates long polling; a batch's cursor is the offset that confirms it."""
        offset = int(cursor) if cursor else None
        backoff = Backoff(self.config.backoff)
        while True:
            try:
                updates = await self._poll(offset)
            except ChannelUnavailable as e:
                log.warning("getUpdates failed: %s", e)
                await backoff.sleep()
                continue
            backoff.reset()
            if updates:
                offset = updates[-1].update_id + 1
                yield make_batch(self._events(updates), cursor=str(offset))

    async def _poll(self, offset: int | None) -> list[Update]:
        timeout = self.config.poll_timeout
        try:
            return await self.bot.get_updates(
                offset=offset, timeout=timeout, allowed_updates=ALLOWED_UPDATES, request_timeout=timeout + 10
            )
        except TelegramAPIError as e:
            error = map_error(e)
            if isinstance(error, ChannelUnavailable):
                raise error from e
            raise

    def _events(self, updates: list[Update]) -> list[AnyEvent]:
        events: list[AnyEvent] = []
        for update in updates:
            event = update_event(update, connection_id=self.connection_id)
            if event is not None:
                events.append(event)
        return events

    async def aclose(self) -> None:
        """Close the bot's HTTP session."""
        await self.bot.session.close()


def _chat_id(recipient: str) -> int | str:
    return int(recipient) if recipient.lstrip("-").isdigit() else recipient


# --- inbound parsing (pure) ------------------------------------------------------------------


@dataclass(frozen=True)
class TelegramRejection:
    """Refuse the webhook request: 403 for a wrong secret header, 400 for a non-JSON body."""

    reason: str
    status: int = 403


@dataclass(frozen=True)
class TelegramEvents:
    """Events to commit (dedupe by `update_id`); answer 200 after committing."""

    events: list[AnyEvent]
    update_id: int | None = None
    skipped: int = 0


def parse_telegram_update(
    body: bytes | str | Mapping[str, Any],
    headers: Mapping[str, str],
    config: TelegramConfig,
    *,
    connection_id: int | None = None,
) -> TelegramEvents | TelegramRejection:
    """Decide what to answer a webhook request to `/channels/telegram/{connection}`."""
    if config.webhook_secret is not None and not _secret_ok(headers, config.webhook_secret):
        log.warning("webhook: wrong secret token header")
        return TelegramRejection("wrong secret token")
    try:
        data = load_json(body) if isinstance(body, bytes | str) else body
        update = Update.model_validate(data)
    except ValueError as e:
        if isinstance(e, ValidationError):
            log.warning("webhook: skipped malformed update: %s", e.error_count())
            return TelegramEvents([], update_id=_update_id(data), skipped=1)
        return TelegramRejection("malformed JSON", status=400)
    event = update_event(update, connection_id=connection_id)
    return TelegramEvents([event] if event else [], update_id=update.update_id)


def _secret_ok(headers: Mapping[str, str], secret: str) -> bool:
    given = next((v for k, v in headers.items() if k.lower() == SECRET_HEADER.lower()), "")
    return hmac.compare_digest(given.encode(), secret.encode())


def _update_id(data: Any) -> int | None:
    value = data.get("update_id") if isinstance(data, Mapping) else None
    return value if isinstance(value, int) else None


def update_event(update: Update, *, connection_id: int | None = None) -> AnyEvent | None:
    """The event one update carries, if any: a customer message or a block/unblock."""
    if update.message is not None:
        return _inbound(update.message, connection_id)
    member = update.my_chat_member
    if member is not None and member.chat.type == "private":
        status = member.new_chat_member.status
        return PermissionEvent(
            channel="telegram",
            sender=str(member.chat.id),
            allowed=status not in ("kicked", "left"),
            at=member.date,
            external_id=str(update.update_id),
            connection_id=connection_id,
        )
    return None


def _inbound(message: Message, connection_id: int | None) -> InboundMessage | None:
    if message.from_user is None or message.from_user.is_bot:
        return None
    text = message.text or message.caption or ""
    ref = None
    if text.startswith("/start "):
        ref = text.split(maxsplit=1)[1].strip() or None
    phone = None
    contact = message.contact
    if contact is not None and contact.user_id == message.from_user.id:
        phone = "+" + "".join(ch for ch in contact.phone_number if ch.isdigit())
    return InboundMessage(
        channel="telegram",
        sender=str(message.chat.id),
        text=text,
        external_id=f"{message.chat.id}:{message.message_id}",
        at=message.date,
        connection_id=connection_id,
        phone=phone,
        ref=ref,
    )
