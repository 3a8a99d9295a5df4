"""SmppChannel against the fake SMSC over TCP: bind, submit, receipts (hex and decimal ids), MO."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from aiosmpplib import SmppCommandStatus

from bots.base import EventBatch, InboundMessage, OutboundMessage, StatusEvent
from bots.smpp import SmppChannel, SmppConfig, canonical_id, parse_receipt
from hub.errors import ChannelUnavailable, ConnectionBroken, RecipientUnreachable
from tests.fakes.smsc import FakeSmsc


def cfg(smsc: FakeSmsc, **kw: object) -> SmppConfig:
    options: dict[str, object] = {"timeout": 2.0, **kw}
    return SmppConfig(host="127.0.0.1", port=smsc.port, system_id="hub", password="secret", **options)  # type: ignore[arg-type]


def msg(text: str = "Код 1234", leg: str = "n1:1") -> OutboundMessage:
    return OutboundMessage(leg_key=leg, channel="sms", recipient="+79990000001", text=text)


@pytest.fixture
async def smsc() -> AsyncIterator[FakeSmsc]:
    async with FakeSmsc() as server:
        yield server


async def next_batch(stream: AsyncIterator[EventBatch]) -> EventBatch:
    async with asyncio.timeout(10):
        return await anext(stream)


async def test_submit_sm_ucs2_with_receipt_requested(smsc: FakeSmsc) -> None:
    async with SmppChannel(cfg(smsc)) as ch:
        result = await ch.send(msg())
    (sub,) = smsc.submitted
    assert (sub.destination, sub.source, sub.text, sub.encoding, sub.registered_delivery) == (
        "79990000001",
        "NotifyHub",
        "Код 1234",
        "ucs2",
        1,
    )
    assert result.external_id == str(sub.message_id) and result.units == 1


async def test_long_gsm_text_units(smsc: FakeSmsc) -> None:
    async with SmppChannel(cfg(smsc)) as ch:
        result = await ch.send(msg(text="a" * 161))
    assert result.units == 2 and smsc.submitted[0].text == "a" * 161


@pytest.mark.parametrize("receipt_as", ["hex", "dec"])
async def test_receipt_matched_whatever_base(smsc: FakeSmsc, receipt_as: str) -> None:
    async with SmppChannel(cfg(smsc)) as ch:
        result = await ch.send(msg())
        number = smsc.submitted[0].message_id
        stream = ch.events()
        await smsc.send_receipt(f"{number:x}" if receipt_as == "hex" else str(number))
        batch = await next_batch(stream)
        (event,) = batch.events
        assert isinstance(event, StatusEvent) and event.status == "delivered"
        assert event.external_id == result.external_id
        assert not smsc.acked  # acknowledged only after the consumer comes back
        await smsc.send_receipt(str(number), stat="UNDELIV", err=11)
        batch = await next_batch(stream)
        (failed,) = batch.events
        assert isinstance(failed, StatusEvent) and failed.status == "failed" and failed.error == "UNDELIV:011"
        assert len(smsc.acked) == 1
        await stream.aclose()  # type: ignore[attr-defined]


async def test_unknown_receipt_skipped_and_valid_kept(smsc: FakeSmsc) -> None:
    async with SmppChannel(cfg(smsc)) as ch:
        await ch.send(msg())
        stream = ch.events()
        await smsc.send_receipt("ZZZ999")
        await smsc.send_mo("79990000002", "Да")
        events: list[object] = []
        while not events:
            events.extend((await next_batch(stream)).events)
        await stream.aclose()  # type: ignore[attr-defined]
    assert ch.skipped == 1
    (mo,) = events
    assert isinstance(mo, InboundMessage) and mo.phone == "+79990000002" and mo.text == "Да"


async def test_mo_message(smsc: FakeSmsc) -> None:
    async with SmppChannel(cfg(smsc)) as ch:
        await ch.connect()
        stream = ch.events()
        await smsc.send_mo("79990000003", "STOP")
        (event,) = (await next_batch(stream)).events
        await stream.aclose()  # type: ignore[attr-defined]
    assert isinstance(event, InboundMessage) and event.sender == "+79990000003" and event.text == "STOP"


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (SmppCommandStatus.ESME_RTHROTTLED, ChannelUnavailable),
        (SmppCommandStatus.ESME_RINVDSTADR, RecipientUnreachable),
    ],
)
async def test_submit_errors(smsc: FakeSmsc, status: SmppCommandStatus, error: type[Exception]) -> None:
    smsc.statuses.append(status)
    async with SmppChannel(cfg(smsc)) as ch:
        with pytest.raises(error):
            await ch.send(msg())
    assert not smsc.submitted


async def test_bad_password_breaks_connection(smsc: FakeSmsc) -> None:
    config = SmppConfig(host="127.0.0.1", port=smsc.port, system_id="hub", password="wrong", timeout=2)
    async with SmppChannel(config) as ch:
        with pytest.raises(ConnectionBroken):
            await ch.send(msg())
    assert "wrong" not in repr(config)


async def test_no_response_is_unavailable(smsc: FakeSmsc) -> None:
    smsc.hang_submits = True
    async with SmppChannel(cfg(smsc, timeout=0.3)) as ch:
        with pytest.raises(ChannelUnavailable):
            await ch.send(msg())


async def test_enquire_link_sent(smsc: FakeSmsc) -> None:
    async with SmppChannel(cfg(smsc, enquire_link_interval=0.05)) as ch:
        await ch.connect()
        async with asyncio.timeout(10):
            while smsc.enquire_links < 2:
                await asyncio.sleep(0.02)


def test_receipt_parsing_and_ids() -> None:
    receipt = parse_receipt(
        "id:1A2B3C sub:001 dlvrd:001 submit date:2601011200 done date:2601011200 stat:DELIVRD err:000 Text:hi"
    )
    assert receipt is not None and (receipt.message_id, receipt.stat, receipt.err) == (
        "1A2B3C",
        "DELIVRD",
        "000",
    )
    assert parse_receipt("garbage") is None
    assert canonical_id("1A2B3C", 16) == canonical_id("1715004", 10) == "1715004"
