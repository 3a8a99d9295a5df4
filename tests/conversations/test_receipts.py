"""Receipts that race the dispatcher: faster than our commit, or parked just after it."""

from __future__ import annotations

from datetime import UTC, datetime

from bots.base import StatusEvent
from hub.bootstrap import Hub
from tests.fakes.clock import FakeClock
from tests.support.scenario import accept, approved_template, new_client, notify_item

ROUTE = [{"channel": "vk", "ttl": 60}, {"channel": "sms"}]


def receipt(external_id: str, status: str = "delivered") -> StatusEvent:
    return StatusEvent("vk", external_id, status, datetime.now(UTC))  # type: ignore[arg-type]


async def leg_statuses(hub: Hub, nid: str) -> list[str]:
    async with hub.uow() as uow:
        return [leg.status for leg in (await uow.notifications.legs([nid]))[nid]]


async def test_receipt_before_the_send_is_recorded_is_applied_with_it(hub: Hub, clock: FakeClock) -> None:
    _, client = await new_client(hub)
    template = await approved_template(hub, client.id)
    [a] = await accept(hub, client, [notify_item(template.id, "+79990000003", route=ROUTE)])
    await hub.ingest.apply([receipt("sbx1")])  # the platform answered before our commit: parked
    await hub.dispatcher().run_once()
    assert await leg_statuses(hub, a.id) == ["delivered", "skipped"]  # SMS not needed


async def test_receipt_parked_after_the_send_was_recorded_is_reconciled(hub: Hub, clock: FakeClock) -> None:
    _, client = await new_client(hub)
    template = await approved_template(hub, client.id)
    [a] = await accept(hub, client, [notify_item(template.id, "+79990000003", route=ROUTE)])
    await hub.dispatcher().run_once()
    async with hub.uow() as uow:
        [(nid, leg)] = [
            (n, x) for n, legs in (await uow.notifications.legs([a.id])).items() for x in legs if x.idx == 0
        ]
        await uow.notifications.park_receipts(
            [
                {
                    "channel": "vk",
                    "external_id": leg.external_id,
                    "status": "read",
                    "at": clock.now(),
                    "error": None,
                }
            ]
        )
        await uow.commit()
    assert await hub.ingest.reconcile() == 1
    assert (await leg_statuses(hub, nid))[0] == "read"
    assert await hub.ingest.reconcile() == 0


async def test_receipt_for_an_unknown_message_is_dropped_after_a_day(hub: Hub, clock: FakeClock) -> None:
    await hub.ingest.apply([receipt("sbx-nobody")])
    assert await hub.ingest.reconcile() == 0
    async with hub.uow() as uow:
        assert await uow.notifications.parked_count() == 1
    clock.advance(86400 + 1)
    await hub.ingest.reconcile()
    async with hub.uow() as uow:
        assert await uow.notifications.parked_count() == 0


async def test_repeated_receipts_change_nothing(hub: Hub, clock: FakeClock) -> None:
    _, client = await new_client(hub)
    template = await approved_template(hub, client.id)
    [a] = await accept(hub, client, [notify_item(template.id, "+79990000003", route=ROUTE)])
    await hub.dispatcher().run_once()
    for _ in range(3):
        await hub.ingest.apply([receipt("sbx1")])
    async with hub.uow() as uow:
        kinds = [e.kind for e in await uow.notifications.events(a.id)]
    assert kinds.count("leg_delivered") == 1
