"""HttpSmsChannel against the fake gateway, callback parsing, and FailoverSms without double sends."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bots.base import InboundMessage, OutboundMessage, StatusEvent
from bots.sms import FailoverSms, HttpSmsChannel, SmsGatewayConfig, parse_sms_callback
from hub.errors import ChannelRejected, ChannelUnavailable, ConnectionBroken
from tests.fakes.sms_gateway import FakeSmsGateway


@pytest.fixture
async def gw1() -> AsyncIterator[FakeSmsGateway]:
    async with FakeSmsGateway(id_prefix="a") as server:
        yield server


@pytest.fixture
async def gw2() -> AsyncIterator[FakeSmsGateway]:
    async with FakeSmsGateway(id_prefix="b") as server:
        yield server


def config(gw: FakeSmsGateway, **kw: object) -> SmsGatewayConfig:
    return SmsGatewayConfig(api_base_url=gw.url, sender="NotifyHub", token=gw.token, **kw)  # type: ignore[arg-type]


def msg(leg: str = "n1:1", text: str = "Код 1234") -> OutboundMessage:
    return OutboundMessage(leg_key=leg, channel="sms", recipient="+79990000001", text=text, category="otp")


@pytest.mark.parametrize("body_format", ["json", "form"])
async def test_send_with_configured_format(gw1: FakeSmsGateway, body_format: str) -> None:
    async with HttpSmsChannel(config(gw1, body_format=body_format)) as ch:
        result = await ch.send(msg(text="я" * 71))
    assert (result.external_id, result.units) == ("a-1", 2)
    content_type, body = gw1.requests[-1]
    assert content_type == (
        "application/json" if body_format == "json" else "application/x-www-form-urlencoded"
    )
    assert body["to"] == "+79990000001" and body["client_id"] == "n1:1"


def test_config_validates_sender_and_hides_token() -> None:
    with pytest.raises(ValueError):
        SmsGatewayConfig(api_base_url="http://x", sender="WayTooLongName")
    assert "SECRET" not in repr(SmsGatewayConfig(api_base_url="http://x", sender="Shop", token="SECRET"))


@pytest.mark.parametrize(
    ("status", "error"), [(429, ChannelUnavailable), (503, ChannelUnavailable), (400, ChannelRejected)]
)
async def test_http_errors(gw1: FakeSmsGateway, status: int, error: type[Exception]) -> None:
    gw1.fail_next(status)
    async with HttpSmsChannel(config(gw1)) as ch:
        with pytest.raises(error) as info:
            await ch.send(msg())
    if status == 429:
        assert isinstance(info.value, ChannelUnavailable) and info.value.retry_after == 5


async def test_bad_token_breaks_connection(gw1: FakeSmsGateway) -> None:
    async with HttpSmsChannel(SmsGatewayConfig(api_base_url=gw1.url, sender="Shop", token="bad")) as ch:
        with pytest.raises(ConnectionBroken):
            await ch.send(msg())


def test_callback_receipts_and_reply() -> None:
    cfg = SmsGatewayConfig(api_base_url="http://x", sender="Shop")
    body = [
        {"id": "a-1", "status": "delivered"},
        {"id": "a-2", "status": "failed", "error": "absent subscriber"},
        {"id": "a-3", "status": "queued"},
        {"status": "delivered"},
        {"id": "mo-1", "from": "79990000001", "text": "СТОП"},
    ]
    result = parse_sms_callback(body, cfg)
    assert result.skipped == 1
    delivered, failed, reply = result.events
    assert isinstance(delivered, StatusEvent) and delivered.status == "delivered"
    assert isinstance(failed, StatusEvent) and failed.error == "absent subscriber"
    assert isinstance(reply, InboundMessage) and reply.phone == "+79990000001" and reply.text == "СТОП"
    assert parse_sms_callback(b"{bad", cfg).rejected


async def test_failover_on_error_sends_once(gw1: FakeSmsGateway, gw2: FakeSmsGateway) -> None:
    gw1.fail_next(503)
    async with FailoverSms([HttpSmsChannel(config(gw1)), HttpSmsChannel(config(gw2))]) as sms:
        result = await sms.send(msg())
        again = await sms.send(msg())
    assert result == again and result.external_id == "b-1"
    assert len(gw1.sent) + len(gw2.sent) == 1


async def test_failover_on_timeout_never_retries_that_route(gw1: FakeSmsGateway, gw2: FakeSmsGateway) -> None:
    gw1.hang = True
    gw2.fail_next(503)
    async with FailoverSms(
        [HttpSmsChannel(config(gw1)), HttpSmsChannel(config(gw2))], route_timeout=0.3
    ) as sms:
        with pytest.raises(ChannelUnavailable):
            await sms.send(msg())
        gw1.hang = False
        result = await sms.send(msg())  # the hub's retry: route 1 may have sent it, so route 2 only
    assert result.external_id == "b-1"
    assert len(gw1.sent) == 0 and len(gw2.sent) == 1
