"""SMSC receipts racing their own submit_sm_resp (the fake SMSC's receipt delay at 0).

The receipt arrives in the same write as the response, right behind it or right before it, so
the SMPP channel sees it before `send()` has recorded the message id. Every receipt must still
reach its leg: every notification ends `delivered` once, nothing is submitted twice.
"""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest
from sqlalchemy import func, select

from hub.bootstrap import Hub
from hub.channels.connections import add_connection
from hub.channels.readers import run_connections
from storage.models import InboundMessage, Notification
from tests.fakes.clock import FakeClock
from tests.fakes.smsc import FakeSmsc
from tests.faults.accounting import at_least, count, eventually, outbound
from tests.faults.conftest import RecordFault
from tests.support.scenario import accept, approved_template, new_client, notify_item

TOTAL = 120


@pytest.mark.parametrize("receipt_first", [False, True], ids=["behind-response", "before-response"])
async def test_receipts_racing_submit_responses_all_reach_their_legs(
    hub: Hub, clock: FakeClock, record_fault: RecordFault, receipt_first: bool
) -> None:
    async with FakeSmsc() as smsc:
        smsc.receipt_delay, smsc.receipt_first = 0, receipt_first
        _, client = await new_client(hub)
        template = await approved_template(hub, client.id, "#name#, заказ #order# доставлен.")
        settings = {"kind": "smpp", "host": "127.0.0.1", "port": smsc.port, "system_id": "hub"}
        settings |= {"password": "secret", "sender": "Shop"}
        await add_connection(hub.uow(), client.id, "sms", settings, hub.clock.now())
        items = [
            notify_item(
                template.id,
                f"+7916333{n:04d}",
                route=[{"channel": "sms"}],
                params={"name": "Анна", "order": str(n)},
                idempotency_key=f"r{n}",
            )
            for n in range(TOTAL)
        ]
        ids = [a.id for a in await accept(hub, client, items)]
        stop = asyncio.Event()
        background = [
            asyncio.create_task(run_connections(hub, stop, interval=0.05)),
            asyncio.create_task(hub.ingest.reconcile_forever(stop, interval=0.05)),
        ]
        try:
            await eventually(lambda: _true(bool(hub.channels.links())), "the SMPP connection loaded")
            dispatcher = hub.dispatcher()
            while await dispatcher.run_once():
                pass
            # a customer's SMS written after every receipt: once it is stored, all receipts were read
            await smsc.send_mo("79163330000", "спасибо")
            replies = select(func.count()).select_from(InboundMessage)
            await eventually(lambda: at_least(hub, 1, replies), "the customer's SMS stored", 30)
            delivered = (
                select(func.count()).select_from(Notification).where(Notification.status == "delivered")
            )
            await eventually(lambda: at_least(hub, TOTAL, delivered), "every SMS delivered", 10)
        except AssertionError:
            pass  # counted below, so the failure names what was lost
        finally:
            stop.set()
            await asyncio.gather(*background)
        result = await outbound(hub, ids)
        twice = sum(1 for n in Counter(s.text for s in smsc.submitted).values() if n > 1)
        not_delivered = TOTAL - await count(hub, delivered)
        assert (result.final_once, result.lost, not_delivered, twice) == (TOTAL, 0, 0, 0)
        record_fault(
            f"SMSC receipt {'before' if receipt_first else 'right behind'} its submit_sm_resp",
            f"{TOTAL} SMS receipts",
            result.accounted(),
            result.lost,
            result.sent_twice + twice,
        )


async def _true(value: bool) -> bool:
    return value
