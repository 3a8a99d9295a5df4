"""OkChannel through httpx against the fake OK API, and the pure webhook parser."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest

from bots.base import OutboundMessage
from bots.ok import OkChannel, OkConfig, OkEvents, OkRejection, parse_ok_webhook
from hub.errors import ChannelRejected, ChannelUnavailable, ConnectionBroken, RecipientUnreachable
from tests.fakes.ok_api import FakeOkApi, ok_update


@pytest.fixture
async def fake() -> AsyncIterator[FakeOkApi]:
    async with FakeOkApi() as server:
        yield server


@pytest.fixture
async def channel(fake: FakeOkApi) -> AsyncIterator[OkChannel]:
    async with OkChannel(OkConfig(token=fake.token, api_base_url=fake.url)) as ch:
        yield ch  # type: ignore[misc]


def msg(to: str = "chat:C3ecb9d02a600") -> OutboundMessage:
    return OutboundMessage(leg_key="n1:0", channel="ok", recipient=to, text="Заказ готов")


async def test_send_to_chat(channel: OkChannel, fake: FakeOkApi) -> None:
    result = await channel.send(msg())
    assert result.external_id == fake.sent[0].mid
    path, body = fake.requests[-1]
    assert path == "/graph/me/messages/chat:C3ecb9d02a600"
    assert body == {"recipient": {"chat_id": "chat:C3ecb9d02a600"}, "message": {"text": "Заказ готов"}}


async def test_send_to_user(channel: OkChannel, fake: FakeOkApi) -> None:
    await channel.send(msg("123"))
    assert fake.requests[-1][1]["recipient"] == {"user_ids": ["user:123"]}
    assert len(fake.sent) == 1


def test_token_not_in_repr() -> None:
    assert "SECRET" not in repr(OkConfig(token="tkn:SECRET"))


@pytest.mark.parametrize(
    ("code", "error"),
    [
        (8, ChannelUnavailable),
        (11, ChannelUnavailable),
        (9999, ChannelUnavailable),
        (10, RecipientUnreachable),
        (102, ConnectionBroken),
        (4, ChannelRejected),
    ],
)
async def test_error_codes(channel: OkChannel, fake: FakeOkApi, code: int, error: type[Exception]) -> None:
    fake.fail_next(code)
    with pytest.raises(error) as info:
        await channel.send(msg())
    assert type(info.value) is error
    assert not fake.sent


async def test_per_recipient_success_false(channel: OkChannel, fake: FakeOkApi) -> None:
    fake.refused_users.add("user:123")
    with pytest.raises(RecipientUnreachable):
        await channel.send(msg("user:123"))


async def test_wrong_token_breaks_connection(fake: FakeOkApi) -> None:
    async with OkChannel(OkConfig(token="wrong", api_base_url=fake.url)) as ch:
        with pytest.raises(ConnectionBroken):
            await ch.send(msg())


async def test_network_error_unavailable() -> None:
    async with OkChannel(OkConfig(token="t", api_base_url="http://127.0.0.1:9")) as ch:
        with pytest.raises(ChannelUnavailable):
            await ch.send(msg())


async def test_subscribe(channel: OkChannel, fake: FakeOkApi) -> None:
    await channel.subscribe("https://hub.example/channels/ok/7")
    assert fake.subscriptions == ["https://hub.example/channels/ok/7"]


def test_webhook_parsed_and_deduped_by_mid() -> None:
    result = parse_ok_webhook(json.dumps(ok_update("mid:1")).encode(), connection_id=3)
    assert isinstance(result, OkEvents)
    (event,) = result.events
    assert (event.external_id, event.sender, event.text, event.connection_id) == (
        "mid:1",
        "user:123456789012",
        "Да",
        3,
    )


def test_bad_item_skipped_valid_kept() -> None:
    result = parse_ok_webhook([{"message": {}}, ok_update("mid:2")])
    assert isinstance(result, OkEvents) and result.skipped == 1
    assert [e.external_id for e in result.events] == ["mid:2"]


def test_malformed_body_rejected() -> None:
    assert isinstance(parse_ok_webhook(b"{oops"), OkRejection)
    assert isinstance(parse_ok_webhook(b"[1]"), OkRejection)


def test_other_webhook_types_ignored() -> None:
    result = parse_ok_webhook({**ok_update("mid:3"), "webhookType": "CHAT_SYSTEM"})
    assert result == OkEvents([], 0)
