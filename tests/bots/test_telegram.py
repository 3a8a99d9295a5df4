"""TelegramChannel through aiogram's real Bot and session against the fake Bot API."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import pytest

from bots.backoff import BackoffConfig
from bots.base import InboundMessage, OutboundMessage
from bots.events import PermissionEvent
from bots.telegram import (
    TelegramChannel,
    TelegramConfig,
    TelegramEvents,
    TelegramRejection,
    parse_telegram_update,
)
from hub.errors import (
    ChannelRejected,
    ChannelUnavailable,
    ConnectionBroken,
    OutcomeUnknown,
    RecipientUnreachable,
)
from tests.fakes.telegram_api import FakeTelegramApi, text_update

FAST = BackoffConfig(min_delay=0.01, max_delay=0.05, jitter=0)


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegramApi]:
    async with FakeTelegramApi() as server:
        yield server


@pytest.fixture
async def channel(fake: FakeTelegramApi) -> AsyncIterator[TelegramChannel]:
    config = TelegramConfig(token=fake.token, api_base_url=fake.url, poll_timeout=1, backoff=FAST)
    async with TelegramChannel(config) as ch:
        yield ch  # type: ignore[misc]


def msg(to: str = "42") -> OutboundMessage:
    return OutboundMessage(leg_key="n1:0", channel="telegram", recipient=to, text="Заказ готов")


async def test_send_message(channel: TelegramChannel, fake: FakeTelegramApi) -> None:
    result = await channel.send(msg())
    assert result.external_id == "1"
    assert [(s.chat_id, s.text) for s in fake.sent] == [(42, "Заказ готов")]


def test_token_not_in_repr() -> None:
    assert "ABCSECRET" not in repr(TelegramConfig(token="1:ABCSECRET", webhook_secret="ABCSECRET"))


@pytest.mark.parametrize(
    "description",
    ["Forbidden: bot was blocked by the user", "Forbidden: bot can't initiate conversation with a user"],
)
async def test_403_is_unreachable(channel: TelegramChannel, fake: FakeTelegramApi, description: str) -> None:
    fake.fail_next("sendMessage", 403, description)
    with pytest.raises(RecipientUnreachable) as info:
        await channel.send(msg())
    assert info.value.code == 403 and not fake.sent


async def test_blocked_user_in_fake(channel: TelegramChannel, fake: FakeTelegramApi) -> None:
    fake.blocked.add(42)
    with pytest.raises(RecipientUnreachable):
        await channel.send(msg())


async def test_429_carries_retry_after(channel: TelegramChannel, fake: FakeTelegramApi) -> None:
    fake.fail_next("sendMessage", 429, "Too Many Requests: retry after 7", retry_after=7)
    with pytest.raises(ChannelUnavailable) as info:
        await channel.send(msg())
    assert info.value.retry_after == 7


async def test_server_error_unavailable(channel: TelegramChannel, fake: FakeTelegramApi) -> None:
    fake.fail_next("sendMessage", 502, "Bad Gateway")
    with pytest.raises(ChannelUnavailable):
        await channel.send(msg())


async def test_bad_request_rejected(channel: TelegramChannel, fake: FakeTelegramApi) -> None:
    fake.fail_next("sendMessage", 400, "Bad Request: message is too long")
    with pytest.raises(ChannelRejected):
        await channel.send(msg())


async def test_wrong_token_breaks_connection(fake: FakeTelegramApi) -> None:
    config = TelegramConfig(token="999:WRONGTOKENWRONGTOKEN", api_base_url=fake.url)
    async with TelegramChannel(config) as ch:
        with pytest.raises(ConnectionBroken):
            await ch.send(msg())


async def test_withdraw(channel: TelegramChannel, fake: FakeTelegramApi) -> None:
    result = await channel.send(msg())
    assert await channel.withdraw(msg(), result.external_id)
    assert fake.sent[0].deleted
    assert not await channel.withdraw(msg(), "999")


async def test_contact_keyboard(channel: TelegramChannel, fake: FakeTelegramApi) -> None:
    await channel.request_contact("42", "Поделитесь номером")
    markup = fake.sent[0].reply_markup
    assert markup["keyboard"][0][0]["request_contact"] is True


async def _collect(
    channel: TelegramChannel, n: int, cursor: str | None = None
) -> tuple[list[object], str | None]:
    events: list[object] = []
    last = None
    stream = channel.events(cursor)
    async with asyncio.timeout(20):
        async for batch in stream:
            events.extend(batch.events)
            last = batch.cursor
            if len(events) >= n:
                break
    await stream.aclose()  # type: ignore[attr-defined]
    return events, last


async def test_polling_deep_link_contact_and_resume(channel: TelegramChannel, fake: FakeTelegramApi) -> None:
    fake.push(text_update(42, "/start tok123", message_id=5))
    own = {"phone_number": "79990000001", "first_name": "C", "user_id": 42}
    fake.push(text_update(42, "", message_id=6, contact=own))
    events, cursor = await _collect(channel, 2)
    start, contact = events
    assert isinstance(start, InboundMessage) and start.ref == "tok123" and start.external_id == "42:5"
    assert isinstance(contact, InboundMessage) and contact.phone == "+79990000001"
    fake.push(text_update(42, "later", message_id=7))
    events, _ = await _collect(channel, 1, cursor)
    assert [e.text for e in events if isinstance(e, InboundMessage)] == ["later"]


async def test_polling_survives_transient_error(channel: TelegramChannel, fake: FakeTelegramApi) -> None:
    fake.fail_next("getUpdates", 502, "Bad Gateway")
    fake.push(text_update(42, "hi"))
    events, _ = await _collect(channel, 1)
    assert len(events) == 1


SECRET = TelegramConfig(token="1:x", webhook_secret="hook-secret")


def test_webhook_secret_checked() -> None:
    body = json.dumps({"update_id": 1, **text_update(42, "hi")})
    assert isinstance(parse_telegram_update(body, {}, SECRET), TelegramRejection)
    wrong = parse_telegram_update(body, {"X-Telegram-Bot-Api-Secret-Token": "nope"}, SECRET)
    assert isinstance(wrong, TelegramRejection) and wrong.status == 403
    ok = parse_telegram_update(body, {"x-telegram-bot-api-secret-token": "hook-secret"}, SECRET)
    assert isinstance(ok, TelegramEvents) and ok.update_id == 1 and len(ok.events) == 1


def test_someone_elses_contact_gives_no_phone() -> None:
    other = {"phone_number": "+79990000002", "first_name": "X", "user_id": 777}
    update = {"update_id": 2, **text_update(42, "", contact=other)}
    result = parse_telegram_update(update, {"X-Telegram-Bot-Api-Secret-Token": "hook-secret"}, SECRET)
    assert isinstance(result, TelegramEvents)
    (event,) = result.events
    assert isinstance(event, InboundMessage) and event.phone is None


def test_malformed_update_skipped_and_bad_json_rejected() -> None:
    headers = {"X-Telegram-Bot-Api-Secret-Token": "hook-secret"}
    skipped = parse_telegram_update({"update_id": 3, "message": {"chat": "?"}}, headers, SECRET)
    assert skipped == TelegramEvents([], update_id=3, skipped=1)
    bad = parse_telegram_update(b"{nope", headers, SECRET)
    assert isinstance(bad, TelegramRejection) and bad.status == 400


def test_block_becomes_permission_event() -> None:
    update = {
        "update_id": 4,
        "my_chat_member": {
            "chat": {"id": 42, "type": "private"},
            "from": {"id": 42, "is_bot": False, "first_name": "C"},
            "date": 1_700_000_000,
            "old_chat_member": {"status": "member", "user": {"id": 1, "is_bot": True, "first_name": "B"}},
            "new_chat_member": {
                "status": "kicked",
                "until_date": 0,
                "user": {"id": 1, "is_bot": True, "first_name": "B"},
            },
        },
    }
    result = parse_telegram_update(update, {"X-Telegram-Bot-Api-Secret-Token": "hook-secret"}, SECRET)
    assert isinstance(result, TelegramEvents)
    (event,) = result.events
    assert isinstance(event, PermissionEvent) and not event.allowed and event.sender == "42"


async def test_send_without_answer_is_outcome_unknown(fake: FakeTelegramApi) -> None:
    """Telegram took the message but the answer never came: the hub must not send it again."""
    config = TelegramConfig(token=fake.token, api_base_url=fake.url, timeout=0.5)
    fake.late_answers.append(5.0)
    async with TelegramChannel(config) as ch:
        with pytest.raises(OutcomeUnknown):
            await ch.send(msg())
    assert [s.text for s in fake.sent] == ["Заказ готов"]  # it did go out


async def test_send_that_cannot_connect_is_unavailable() -> None:
    """Nothing listening: nothing went out, so a retry is safe."""
    config = TelegramConfig(
        token="123456:ABCdefGhIJKlmNoPQRstuVWXyz0123456", api_base_url="http://127.0.0.1:9"
    )
    async with TelegramChannel(config) as ch:
        with pytest.raises(ChannelUnavailable) as caught:
            await ch.send(msg())
    assert not isinstance(caught.value, OutcomeUnknown)
