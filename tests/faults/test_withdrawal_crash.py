"""A worker killed between a VK leg's expiry and the withdrawal of its message.

The expiry and the pending withdrawal are committed together, so the next worker withdraws the
message, and only then sends the SMS: no customer keeps both, none gets the SMS twice, every
notification ends once. `WorkerKilled` stands for SIGKILL at the first withdrawal (nothing of
that worker's round runs after it); time is a FakeClock, so the lease runs out at once.
"""

from __future__ import annotations

import pytest

from hub.bootstrap import Hub
from tests.fakes.channel import FakeChannel, Journal, WorkerKilled
from tests.fakes.clock import FakeClock
from tests.faults.accounting import outbound
from tests.faults.conftest import RecordFault
from tests.support.real_adapters import dispatch, link_customer
from tests.support.scenario import accept, approved_template, new_client, notify_item

TOTAL = 30
ROUTE = [{"channel": "vk", "ttl": 60}, {"channel": "sms"}]


async def test_worker_killed_between_expiry_and_withdrawal(
    hub: Hub, clock: FakeClock, record_fault: RecordFault
) -> None:
    journal = Journal()
    vk, sms = FakeChannel("vk", journal), FakeChannel("sms", journal, status="delivered")
    _, client = await new_client(hub)
    template = await approved_template(hub, client.id, "#name#, заказ #order# доставлен.")
    hub.channels.connect(client.id, "vk", vk)
    hub.channels.connect(client.id, "sms", sms)
    items = []
    for n in range(TOTAL):
        phone = f"+7916222{n:04d}"
        await link_customer(hub, client.id, phone, vk=str(3000 + n))
        items.append(notify_item(template.id, phone, route=ROUTE, idempotency_key=f"w{n}"))
    ids = [a.id for a in await accept(hub, client, items)]
    await dispatch(hub, clock, 61.0)  # every VK message sent, none delivered: all expire now

    vk.withdraw_outcomes.append(WorkerKilled())
    with pytest.raises(WorkerKilled):
        await hub.dispatcher("doomed").run_once()
    in_flight = sum(1 for nid in ids if journal.index("withdraw", f"{nid}.0") is None)
    vk.revive()  # the next worker process
    clock.advance(hub.config.dispatch.lease_seconds + 1)  # the dead worker's lease runs out
    for _ in range(3):
        await dispatch(hub, clock)

    result = await outbound(hub, ids)
    first = [(journal.index("withdraw", f"{nid}.0"), journal.index("send", f"{nid}.1")) for nid in ids]
    withdrawn_first = sum(1 for w, s in first if w is not None and s is not None and w < s)
    sms_twice = sum(1 for nid in ids if journal.count("send", f"{nid}.1") > 1)
    assert (result.final_once, result.lost, result.sent_twice, sms_twice) == (TOTAL, 0, 0, 0)
    assert withdrawn_first == TOTAL
    record_fault(
        "worker killed between expiry and withdrawal",
        f"{in_flight} VK messages not withdrawn",
        result.accounted(),
        result.lost,
        result.sent_twice + sms_twice,
        withdrawn_first=(withdrawn_first, TOTAL),
    )
