"""An idle dispatcher backs off its polling but still picks up this process's new work at once."""

from __future__ import annotations

import asyncio
from typing import Any

from hub.bootstrap import build_hub
from hub.config import DispatchConfig
from hub.delivery.dispatch import next_idle_pause
from tests.conftest import make_config
from tests.fakes.clock import FakeClock
from tests.support.scenario import accept, approved_template, new_client, notify_item

#: Far longer than the test waits: only the doorbell can wake the worker in time.
SLEEPY = DispatchConfig(workers=1, poll_interval=60, idle_poll_max=60)


async def _legs_sent(hub: Any, notification_id: str) -> bool:
    async with hub.uow() as uow:
        legs = await uow.notifications.legs({notification_id: []})
    return any(leg.sent_at is not None for leg in legs[notification_id])


async def test_idle_worker_wakes_when_its_process_queues_a_notification(db_url: str) -> None:
    clock = FakeClock()
    hub = build_hub(make_config(db_url, dispatch=SLEEPY), clock=clock)
    try:
        _, client = await new_client(hub)
        template = await approved_template(hub, client.id)
        hub.start_workers()
        await asyncio.sleep(0.3)  # the worker found nothing and sleeps (for a minute, but for the bell)
        [accepted] = await accept(hub, client, [notify_item(template.id, "+79990000001")])
        for _ in range(100):  # up to 10 s, far less than the worker's 60 s pause
            if await _legs_sent(hub, accepted.id):
                break
            await asyncio.sleep(0.1)
        assert await _legs_sent(hub, accepted.id), "the idle worker did not wake for the new notification"
    finally:
        await hub.aclose()


def test_idle_pause_doubles_up_to_the_cap_and_never_below_the_poll_interval() -> None:
    config = DispatchConfig(poll_interval=0.05, idle_poll_max=0.25)
    pauses = [0.05]
    for _ in range(4):
        pauses.append(next_idle_pause(pauses[-1], config))
    assert pauses == [0.05, 0.1, 0.2, 0.25, 0.25]
    fast = DispatchConfig(poll_interval=0.5, idle_poll_max=0.25)  # a cap below the interval: the interval
    assert next_idle_pause(0.5, fast) == 0.5
