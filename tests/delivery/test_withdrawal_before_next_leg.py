"""An expired VK message is withdrawn before the SMS goes out, and a crash in between forgets nothing.

The withdrawal is recorded work: the leg expires with its withdrawal pending in the same
transaction, and the next leg waits until the withdrawal was attempted (withdrawn, refused,
unsupported, or failed after a bounded number of tries while VK is down).
"""

from __future__ import annotations

import pytest

from hub.bootstrap import Hub
from hub.delivery.cascade import LegState, Policy, record_withdrawal
from hub.delivery.views import notification_view
from hub.errors import ChannelRejected, ChannelUnavailable
from tests.fakes.channel import FakeChannel, Journal, WorkerKilled
from tests.fakes.clock import FakeClock
from tests.support.real_adapters import dispatch, link_customer
from tests.support.scenario import accept, approved_template, new_client, notify_item

PHONE = "+79161110004"
ROUTE = [{"channel": "vk", "ttl": 60}, {"channel": "sms"}]


async def _expiring(hub: Hub, clock: FakeClock, vk: FakeChannel, sms: FakeChannel) -> str:
    """A notification whose VK message was sent and has just run out of time."""
    _, client = await new_client(hub)
    template = await approved_template(hub, client.id, "#name#, заказ #order# доставлен.")
    hub.channels.connect(client.id, "vk", vk)
    hub.channels.connect(client.id, "sms", sms)
    await link_customer(hub, client.id, PHONE, vk="2004")
    [a] = await accept(hub, client, [notify_item(template.id, PHONE, route=ROUTE)])
    await dispatch(hub, clock, 61.0)
    assert vk.journal.index("send", f"{a.id}.0") is not None
    return a.id


async def _legs(hub: Hub, nid: str) -> list[LegState]:
    async with hub.uow() as uow:
        return (await uow.notifications.legs([nid]))[nid]


async def _kinds(hub: Hub, nid: str) -> list[str]:
    async with hub.uow() as uow:
        return [e.kind for e in await uow.notifications.events(nid)]


def _channels() -> tuple[Journal, FakeChannel, FakeChannel]:
    journal = Journal()
    return journal, FakeChannel("vk", journal), FakeChannel("sms", journal, status="delivered")


async def test_the_sms_goes_out_only_after_the_expired_vk_message_is_withdrawn(
    hub: Hub, clock: FakeClock
) -> None:
    journal, vk, sms = _channels()
    nid = await _expiring(hub, clock, vk, sms)
    await dispatch(hub, clock)
    withdrawn, sent = journal.index("withdraw", f"{nid}.0"), journal.index("send", f"{nid}.1")
    assert withdrawn is not None and sent is not None and withdrawn < sent
    legs = await _legs(hub, nid)
    assert [(leg.status, leg.withdrawal) for leg in legs] == [("expired", "withdrawn"), ("delivered", None)]
    kinds = await _kinds(hub, nid)
    assert kinds.index("leg_withdrawn") < kinds.index("leg_delivered")
    async with hub.uow() as uow:
        note = await uow.notifications.get(nid)
    assert note is not None
    view = await notification_view(hub.uow(), nid, note.client_id)
    assert view is not None and [leg["withdrawal"] for leg in view["legs"]] == ["withdrawn", None]


async def test_a_worker_killed_between_expiry_and_withdrawal_leaves_the_withdrawal_to_the_next(
    hub: Hub, clock: FakeClock
) -> None:
    journal, vk, sms = _channels()
    nid = await _expiring(hub, clock, vk, sms)
    vk.withdraw_outcomes.append(WorkerKilled())
    with pytest.raises(WorkerKilled):
        await hub.dispatcher("doomed").run_once()
    assert [leg.withdrawal for leg in await _legs(hub, nid)] == ["pending", None]  # committed with the expiry
    vk.revive()  # the next worker process
    clock.advance(hub.config.dispatch.lease_seconds + 1)  # the dead worker's lease runs out
    await dispatch(hub, clock)
    withdrawn, sent = journal.index("withdraw", f"{nid}.0"), journal.index("send", f"{nid}.1")
    assert withdrawn is not None and sent is not None and withdrawn < sent
    assert journal.count("send", f"{nid}.1") == 1


@pytest.mark.parametrize(
    ("outcome", "can_withdraw", "state"),
    [
        (False, True, "refused"),
        (ChannelRejected("no", channel="vk"), True, "failed"),
        (True, False, "unsupported"),
    ],
)
async def test_a_platform_that_cannot_withdraw_does_not_hold_the_sms_back(
    hub: Hub, clock: FakeClock, outcome: bool | Exception, can_withdraw: bool, state: str
) -> None:
    journal, vk, sms = _channels()
    vk.can_withdraw = can_withdraw
    vk.withdraw_outcomes.append(outcome)
    nid = await _expiring(hub, clock, vk, sms)
    await dispatch(hub, clock)
    assert [(leg.status, leg.withdrawal) for leg in await _legs(hub, nid)] == [
        ("expired", state),
        ("delivered", None),
    ]
    assert "leg_not_withdrawn" in await _kinds(hub, nid)
    assert journal.count("send", f"{nid}.1") == 1


async def test_vk_down_is_retried_a_bounded_number_of_times_then_the_sms_goes(
    hub: Hub, clock: FakeClock
) -> None:
    _, vk, sms = _channels()
    vk.withdraw_outcomes.extend(ChannelUnavailable("down", channel="vk") for _ in range(10))
    nid = await _expiring(hub, clock, vk, sms)
    for _ in range(5):
        await dispatch(hub, clock, hub.config.cascade.withdraw_max_delay)
    attempts = hub.config.cascade.withdraw_attempts
    assert vk.withdraw_calls == attempts
    legs = await _legs(hub, nid)
    assert (legs[0].withdrawal, legs[0].withdraw_attempts, legs[1].status) == (
        "failed",
        attempts,
        "delivered",
    )
    kinds = await _kinds(hub, nid)
    assert kinds.count("leg_withdraw_retry") == attempts - 1
    assert kinds.index("leg_not_withdrawn") < kinds.index("leg_delivered")


def test_withdrawal_policy_retries_only_an_unavailable_platform_and_caps_the_pause() -> None:
    policy = Policy(withdraw_attempts=3, withdraw_max_delay=5.0)
    leg = LegState(0, "vk", "delivered", status="expired", external_id="7", withdrawal="pending")
    slow = ChannelUnavailable("flood", channel="vk", retry_after=600)
    once, event = record_withdrawal(leg, slow, 100.0, policy)
    assert (once.withdrawal, once.withdraw_attempts, once.next_try_at, event[0]) == (
        "pending",
        1,
        105.0,
        "leg_withdraw_retry",
    )
    twice, _ = record_withdrawal(once, slow, 105.0, policy)
    thrice, event = record_withdrawal(twice, slow, 110.0, policy)
    assert (thrice.withdrawal, event[0]) == ("failed", "leg_not_withdrawn")
    rejected, _ = record_withdrawal(leg, ChannelRejected("gone", channel="vk"), 100.0, policy)
    assert rejected.withdrawal == "failed" and rejected.next_try_at is None
