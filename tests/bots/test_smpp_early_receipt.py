"""A delivery receipt that overtakes its submit_sm_resp is parked and matched, never dropped.

The fake SMSC answers with a receipt delay of 0: the receipt goes out in the same write as the
response (right behind it, or right before it). Either way every receipt must come out of the
event stream as a `delivered` event for the id `send()` returned.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from bots.base import EventBatch, InboundMessage, OutboundMessage, StatusEvent
from bots.early_receipts import EarlyReceipts
from bots.smpp import SmppChannel, SmppConfig
from hub.errors import ChannelUnavailable
from tests.fakes.smsc import FakeSmsc

SENDS = 300


def cfg(smsc: FakeSmsc, **kw: object) -> SmppConfig:
    options: dict[str, object] = {"timeout": 5.0, **kw}
    return SmppConfig(host="127.0.0.1", port=smsc.port, system_id="hub", password="secret", **options)  # type: ignore[arg-type]


@pytest.fixture
async def smsc() -> AsyncIterator[FakeSmsc]:
    async with FakeSmsc() as server:
        yield server


async def _send_all(channel: SmppChannel, sends: int, concurrency: int = 10) -> list[str]:
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(sends):
        queue.put_nowait(i)
    ids: list[str] = []

    async def worker() -> None:
        while not queue.empty():
            i = queue.get_nowait()
            message = OutboundMessage(f"n{i}.0", "sms", "+79990000001", f"Заказ {i} готов")
            ids.append((await channel.send(message)).external_id)

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return ids


async def _delivered_until_mo(stream: AsyncIterator[EventBatch]) -> list[str]:
    """Receipts read until the customer's message, which the SMSC wrote after all of them."""
    found: list[str] = []
    async with asyncio.timeout(60):  # a bound against hanging, not a measurement
        async for batch in stream:
            found += [e.external_id for e in batch.events if isinstance(e, StatusEvent)]
            if any(isinstance(e, InboundMessage) for e in batch.events):
                return found
    return found


@pytest.mark.parametrize("receipt_first", [False, True], ids=["right-behind-response", "before-response"])
async def test_every_receipt_with_delay_zero_is_matched_to_its_send(
    smsc: FakeSmsc, receipt_first: bool
) -> None:
    smsc.receipt_delay = 0
    smsc.receipt_first = receipt_first
    async with SmppChannel(cfg(smsc)) as channel:
        await channel.connect()
        stream = channel.events()
        reading = asyncio.create_task(_delivered_until_mo(stream))
        sent = await _send_all(channel, SENDS)
        await smsc.send_mo("79990000002", "end")
        delivered = await reading
        await stream.aclose()  # type: ignore[attr-defined]
    assert channel.skipped == 0
    assert sorted(delivered) == sorted(sent) and len(set(sent)) == SENDS
    assert len(channel.early) == 0


async def test_a_receipt_for_no_send_under_way_is_skipped_and_acknowledged(smsc: FakeSmsc) -> None:
    smsc.hang_submits = True
    async with SmppChannel(cfg(smsc, timeout=0.3)) as channel:
        await channel.connect()
        stream = channel.events()
        sending = asyncio.create_task(channel.send(OutboundMessage("n1.0", "sms", "+79990000001", "hi")))
        await asyncio.sleep(0)  # the submit_sm is under way: an unknown receipt is parked
        await smsc.send_receipt("999999")
        with pytest.raises(ChannelUnavailable):
            await sending  # the submit_sm timed out: nothing can claim the receipt any more
        async with asyncio.timeout(10):
            batch = await anext(stream)
            assert batch.events == [] and channel.skipped == 1
            pending = asyncio.ensure_future(anext(stream))  # asking for more acknowledges it
            while not smsc.acked:
                await asyncio.sleep(0.01)
        pending.cancel()
        await asyncio.gather(pending, return_exceptions=True)
        await stream.aclose()  # type: ignore[attr-defined]
    assert len(smsc.acked) == 1


def test_park_is_bounded_in_size_oldest_out_first() -> None:
    park: EarlyReceipts[str] = EarlyReceipts(limit=2, max_age=30)
    assert park.park("a", ("1", "2"), now=0) == []
    assert park.park("b", ("3",), now=1) == []
    assert park.park("c", ("4",), now=2) == ["a"]
    assert park.release("1") == [] and park.release("4") == ["c"] and len(park) == 1


def test_park_is_bounded_in_age() -> None:
    park: EarlyReceipts[str] = EarlyReceipts(limit=10, max_age=5)
    park.park("a", ("1",), now=0)
    park.park("b", ("2",), now=3)
    assert park.next_expiry() == 5
    assert park.expire(4.9) == [] and park.expire(5) == ["a"]
    assert park.release("2") == ["b"] and park.next_expiry() is None


def test_a_receipt_is_released_by_either_reading_of_its_id() -> None:
    park: EarlyReceipts[str] = EarlyReceipts()
    park.park("r", ("1715004", "376852484"), now=0)
    assert park.release("376852484") == ["r"] and park.release("1715004") == [] and len(park) == 0
