"""Channels that answer slowly, slower than the adapter's timeout, then fast again, at volume.

While slow, each platform acts on the request but the answer comes after the hub gave up.
Nothing may reach a customer twice: VK deduplicates a retry by `random_id` (derived from the leg
key), so the hub retries; OK has no dedupe key, so an unanswered OK send counts as sent
(unconfirmed) and is never sent again.
"""

from __future__ import annotations

from collections import Counter

from bots.ok import OkChannel, OkConfig
from bots.vk import VkChannel, VkConfig
from hub.bootstrap import Hub
from tests.fakes.clock import FakeClock
from tests.fakes.ok_api import FakeOkApi
from tests.fakes.vk_api import FakeVkApi
from tests.faults.accounting import twice
from tests.faults.conftest import RecordFault
from tests.support.real_adapters import dispatch, link_customer
from tests.support.scenario import accept, approved_template, new_client, notify_item

CUSTOMERS = 20
TIMEOUT = 0.3


async def _statuses(hub: Hub, ids: list[str]) -> Counter[str]:
    async with hub.uow() as uow:
        legs = await uow.notifications.legs(ids)
    return Counter(leg.status for nid in ids for leg in legs[nid])


async def test_slow_vk_and_ok_answers_reach_each_customer_once(
    hub: Hub, clock: FakeClock, record_fault: RecordFault
) -> None:
    async with FakeVkApi() as vk, FakeOkApi() as ok:
        _, client = await new_client(hub)
        template = await approved_template(hub, client.id, "#name#, заказ #order# доставлен.")
        vk_config = VkConfig(
            group_id=vk.group_id, token=vk.token, api_base_url=vk.api_base_url, timeout=TIMEOUT
        )
        adapters = {"vk": VkChannel(vk_config), "ok": OkChannel(OkConfig(ok.token, ok.url, timeout=TIMEOUT))}
        for name, adapter in adapters.items():
            hub.channels.connect(client.id, name, adapter)
        items = []
        for n in range(CUSTOMERS):
            phone, channel = f"+7916555{n:04d}", "vk" if n % 2 else "ok"
            await link_customer(hub, client.id, phone, **{channel: str(3000 + n)})
            items.append(notify_item(template.id, phone, route=[{"channel": channel, "ttl": 600}]))
        ids = [a.id for a in await accept(hub, client, items)]

        vk.answer_delay = ok.answer_delay = 3 * TIMEOUT  # the platforms act, the answers come late
        await dispatch(hub, clock, 3.0)
        slow = await _statuses(hub, ids)
        # VK sends wait to retry; OK sends are taken as sent, unconfirmed
        assert slow == Counter({"queued": CUSTOMERS // 2, "sent": CUSTOMERS // 2}), slow
        vk.answer_delay = ok.answer_delay = 0.0
        for _ in range(6):
            await dispatch(hub, clock, 5.0)

        assert await _statuses(hub, ids) == Counter({"sent": CUSTOMERS})
        received = Counter([f"vk:{m.peer_id}" for m in vk.sent] + [f"ok:{m.recipient}" for m in ok.sent])
        assert len(received) == CUSTOMERS, received
        assert twice(received) == 0, received
        record_fault(
            "VK and OK answer slower than timeout",
            f"{CUSTOMERS} sends, all timed out",
            f"{len(received)}/{CUSTOMERS} sent",
            CUSTOMERS - len(received),
            twice(received),
        )
        for adapter in adapters.values():
            await adapter.aclose()
