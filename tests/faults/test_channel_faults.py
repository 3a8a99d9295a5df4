"""Channel faults: a platform that answers 5xx, hangs, or acts and then answers too late.

After each, the notification ends in the right state and the customer got the message once:
retries reuse the leg's key, which the platform deduplicates (VK `random_id`, the gateway's
client id). Time is a FakeClock, so backoff delays cost nothing.
"""

from __future__ import annotations

from bots.sms import HttpSmsChannel, SmsGatewayConfig
from bots.vk import VkChannel, VkConfig
from hub.bootstrap import Hub
from tests.fakes.clock import FakeClock
from tests.fakes.sms_gateway import FakeSmsGateway
from tests.fakes.vk_api import FakeVkApi
from tests.faults.conftest import RecordFault
from tests.support.real_adapters import dispatch, link_customer
from tests.support.scenario import accept, approved_template, new_client, notify_item

PHONE = "+79161110004"


async def _legs(hub: Hub, nid: str) -> list[tuple[str, str]]:
    async with hub.uow() as uow:
        return [(leg.channel, leg.status) for leg in (await uow.notifications.legs([nid]))[nid]]


async def _events(hub: Hub, nid: str) -> list[str]:
    async with hub.uow() as uow:
        return [e.kind for e in await uow.notifications.events(nid)]


async def _sms_notification(hub: Hub, gw: FakeSmsGateway, timeout: float = 10.0) -> str:
    _, client = await new_client(hub)
    template = await approved_template(hub, client.id, "#name#, заказ #order# доставлен.")
    config = SmsGatewayConfig(api_base_url=gw.url, sender="Shop", token=gw.token, timeout=timeout)
    hub.channels.connect(client.id, "sms", HttpSmsChannel(config))
    [a] = await accept(hub, client, [notify_item(template.id, PHONE, route=[{"channel": "sms"}])])
    return a.id


async def test_gateway_5xx_is_retried_and_the_customer_gets_one_sms(
    hub: Hub, clock: FakeClock, record_fault: RecordFault
) -> None:
    async with FakeSmsGateway() as gw:
        nid = await _sms_notification(hub, gw)
        gw.fail_next(503, times=2)
        for _ in range(10):
            await dispatch(hub, clock, 3.0)
        assert await _legs(hub, nid) == [("sms", "sent")]
        assert (await _events(hub, nid)).count("leg_retry") == 2
        assert len(gw.sent) == 1
        record_fault("SMS gateway 503 twice", "1 SMS", "1/1 sent", 0, len(gw.sent) - 1)


async def test_gateway_that_hangs_is_timed_out_and_retried_when_back(
    hub: Hub, clock: FakeClock, record_fault: RecordFault
) -> None:
    async with FakeSmsGateway() as gw:
        nid = await _sms_notification(hub, gw, timeout=0.2)
        gw.hang = True
        await dispatch(hub, clock, 3.0)
        assert await _legs(hub, nid) == [("sms", "queued")]  # waiting to retry, not failed
        gw.hang = False
        for _ in range(5):
            await dispatch(hub, clock, 3.0)
        assert await _legs(hub, nid) == [("sms", "sent")] and len(gw.sent) == 1
        record_fault("SMS gateway hangs", "1 SMS", "1/1 sent", 0, len(gw.sent) - 1)


async def test_gateway_answer_lost_after_sending_does_not_send_twice(
    hub: Hub, clock: FakeClock, record_fault: RecordFault
) -> None:
    async with FakeSmsGateway() as gw:
        nid = await _sms_notification(hub, gw, timeout=0.2)
        gw.answer_delay = 0.5  # the SMS goes out, the answer comes after the client gave up
        await dispatch(hub, clock, 3.0)
        gw.answer_delay = 0.0
        for _ in range(5):
            await dispatch(hub, clock, 3.0)
        assert await _legs(hub, nid) == [("sms", "sent")]
        assert len(gw.sent) == 1 and len(gw.requests) >= 2  # retried, deduplicated by the leg's key
        record_fault("SMS answer lost after sending", "1 SMS", "1/1 sent", 0, len(gw.sent) - 1)


async def test_vk_slow_answer_and_server_error_still_one_message(
    hub: Hub, clock: FakeClock, record_fault: RecordFault
) -> None:
    async with FakeVkApi() as vk:
        _, client = await new_client(hub)
        template = await approved_template(hub, client.id, "#name#, заказ #order# доставлен.")
        config = VkConfig(group_id=vk.group_id, token=vk.token, api_base_url=vk.api_base_url, timeout=0.3)
        adapter = VkChannel(config)
        hub.channels.connect(client.id, "vk", adapter)
        await link_customer(hub, client.id, PHONE, vk="2004")
        [a] = await accept(
            hub, client, [notify_item(template.id, PHONE, route=[{"channel": "vk", "ttl": 600}])]
        )
        vk.answer_delay = 1.0  # VK sends, the answer is late: the adapter times out
        await dispatch(hub, clock, 3.0)
        vk.answer_delay = 0.0
        vk.fail_next("messages.send", 10)  # then an internal server error
        for _ in range(6):
            await dispatch(hub, clock, 5.0)
        assert await _legs(hub, a.id) == [("vk", "sent")]
        assert [m.peer_id for m in vk.sent] == [2004]  # random_id from the leg: one message
        record_fault("VK answer late, then 5xx", "1 VK message", "1/1 sent", 0, len(vk.sent) - 1)
        await adapter.aclose()
