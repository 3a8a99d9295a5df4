"""VkChannel through vkbottle's real API against the fake VK server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from bots.backoff import BackoffConfig
from bots.base import InboundMessage, OutboundMessage, StatusEvent
from bots.events import PermissionEvent
from bots.vk import VkChannel, VkConfig, random_id
from hub.errors import ChannelRejected, ChannelUnavailable, ConnectionBroken, RecipientUnreachable
from tests.fakes.vk_api import FakeVkApi, message_new

FAST = BackoffConfig(min_delay=0.01, max_delay=0.05, jitter=0)


@pytest.fixture
async def fake() -> AsyncIterator[FakeVkApi]:
    async with FakeVkApi(group_id=1) as server:
        yield server


@pytest.fixture
async def channel(fake: FakeVkApi) -> AsyncIterator[VkChannel]:
    config = VkConfig(group_id=1, token=fake.token, api_base_url=fake.api_base_url, wait=1, backoff=FAST)
    async with VkChannel(config) as ch:
        yield ch  # type: ignore[misc]


def msg(leg: str = "n1:0", to: str = "501", category: str = "service") -> OutboundMessage:
    return OutboundMessage(leg_key=leg, channel="vk", recipient=to, text="Заказ готов", category=category)


async def test_send_form_encoded_with_intent_and_random_id(channel: VkChannel, fake: FakeVkApi) -> None:
    result = await channel.send(msg(category="otp"))
    assert result.external_id == str(fake.sent[0].message_id)
    name, params, _ = fake.requests[-1]
    assert name == "messages.send"
    assert params["peer_ids"] == "501" and params["v"] == "5.199"
    assert params["random_id"] == str(random_id("n1:0"))
    assert fake.sent[0].intent == "confirmed_notification"


async def test_retry_of_same_leg_is_one_message(channel: VkChannel, fake: FakeVkApi) -> None:
    first = await channel.send(msg())
    second = await channel.send(msg())
    assert first == second
    assert len(fake.sent) == 1


def test_token_not_in_repr() -> None:
    config = VkConfig(group_id=1, token="vk1.a.SECRET", secret="s3cr3t")
    assert "SECRET" not in repr(config) and "s3cr3t" not in repr(config)


@pytest.mark.parametrize("code", [6, 9, 10])
async def test_transient_codes_are_unavailable(channel: VkChannel, fake: FakeVkApi, code: int) -> None:
    fake.fail_next("messages.send", code)
    with pytest.raises(ChannelUnavailable) as info:
        await channel.send(msg())
    assert info.value.code == code
    assert not fake.sent


@pytest.mark.parametrize("code", [901, 902, 943, 944, 950])
async def test_unreachable_codes_top_level(channel: VkChannel, fake: FakeVkApi, code: int) -> None:
    fake.fail_next("messages.send", code)
    with pytest.raises(RecipientUnreachable) as info:
        await channel.send(msg())
    assert info.value.code == code


async def test_unreachable_in_peer_ids_answer(channel: VkChannel, fake: FakeVkApi) -> None:
    fake.peer_errors[501] = 901
    with pytest.raises(RecipientUnreachable) as info:
        await channel.send(msg())
    assert info.value.code == 901


async def test_auth_error_breaks_connection(channel: VkChannel, fake: FakeVkApi) -> None:
    fake.fail_next("messages.send", 5)
    with pytest.raises(ConnectionBroken):
        await channel.send(msg())


async def test_other_code_rejected_with_text(channel: VkChannel, fake: FakeVkApi) -> None:
    fake.fail_next("messages.send", 914)
    with pytest.raises(ChannelRejected) as info:
        await channel.send(msg())
    assert info.value.code == 914 and not isinstance(info.value, ConnectionBroken)


async def test_network_error_is_unavailable(fake: FakeVkApi) -> None:
    config = VkConfig(group_id=1, token="t", api_base_url="http://127.0.0.1:9/method", timeout=2)
    async with VkChannel(config) as ch:
        with pytest.raises(ChannelUnavailable):
            await ch.send(msg())


async def test_withdraw_deletes_for_all(channel: VkChannel, fake: FakeVkApi) -> None:
    result = await channel.send(msg())
    assert await channel.withdraw(msg(), result.external_id)
    _, params, _ = fake.requests[-1]
    assert params["delete_for_all"] == "1"
    assert fake.sent[0].deleted


async def test_withdraw_refused_returns_false(channel: VkChannel, fake: FakeVkApi) -> None:
    result = await channel.send(msg())
    fake.fail_next("messages.delete", 924)
    assert not await channel.withdraw(msg(), result.external_id)


async def _collect(channel: VkChannel, n: int, cursor: str | None = None) -> tuple[list[object], str | None]:
    events: list[object] = []
    last: str | None = None
    stream = channel.events(cursor)
    async with asyncio.timeout(20):
        async for batch in stream:
            events.extend(batch.events)
            last = batch.cursor
            if len(events) >= n:
                break
    await stream.aclose()  # type: ignore[attr-defined]
    return events, last


async def test_long_poll_events_and_cursor(channel: VkChannel, fake: FakeVkApi) -> None:
    start = str(fake.next_ts)
    fake.push(message_new("e1", from_id=501, text="Да", message_id=11, ref="tok"))
    fake.push(
        {
            "group_id": 1,
            "type": "message_allow",
            "event_id": "e2",
            "v": "5.199",
            "object": {"user_id": 501, "key": "k"},
        }
    )
    fake.push(
        {
            "group_id": 1,
            "type": "message_read",
            "event_id": "e3",
            "v": "5.199",
            "object": {"from_id": 501, "peer_id": 501, "read_message_id": 101, "conversation_message_id": 1},
        }
    )
    events, cursor = await _collect(channel, 3, start)
    first, allow, read = events
    assert isinstance(first, InboundMessage) and first.external_id == "11" and first.ref == "tok"
    assert isinstance(allow, PermissionEvent) and allow.allowed and allow.sender == "501"
    assert isinstance(read, StatusEvent) and read.status == "read" and read.external_id == "101"
    assert cursor == str(fake.next_ts)


async def test_resume_after_restart_does_not_repeat(channel: VkChannel, fake: FakeVkApi) -> None:
    start = str(fake.next_ts)
    fake.push(message_new("e1", from_id=501, text="one", message_id=11))
    _, cursor = await _collect(channel, 1, start)
    fake.push(message_new("e2", from_id=501, text="two", message_id=12))
    events, _ = await _collect(channel, 1, cursor)
    assert [e.text for e in events if isinstance(e, InboundMessage)] == ["two"]


@pytest.mark.parametrize("failed", [1, 2, 3])
async def test_long_poll_recovers_without_loss_or_repeat(
    channel: VkChannel, fake: FakeVkApi, failed: int
) -> None:
    start = str(fake.next_ts)
    fake.push(message_new("e1", from_id=501, text="one", message_id=11))
    _, cursor = await _collect(channel, 1, start)
    fake.fail_long_poll(failed)
    fake.push(message_new("e2", from_id=501, text="two", message_id=12))
    fake.push(message_new("e3", from_id=501, text="three", message_id=13))
    events, _ = await _collect(channel, 2, cursor)
    assert [e.text for e in events if isinstance(e, InboundMessage)] == ["two", "three"]
    servers = [name for name, _, _ in fake.requests if name == "groups.getLongPollServer"]
    assert len(servers) == (2 if failed == 1 else 3)  # one per events() call, +1 for a new key


async def test_malformed_update_skipped_valid_kept(channel: VkChannel, fake: FakeVkApi) -> None:
    start = str(fake.next_ts)
    fake.push({"type": "message_new", "object": {"message": {"from_id": "x"}}})
    fake.push(message_new("e2", from_id=501, text="ok", message_id=12))
    events, _ = await _collect(channel, 1, start)
    assert [e.text for e in events if isinstance(e, InboundMessage)] == ["ok"]
    assert channel.skipped == 1
