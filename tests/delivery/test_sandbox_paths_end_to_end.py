"""The outbound spine end to end on the sandbox: every default customer takes the documented path."""

from __future__ import annotations

from hub.bootstrap import Hub
from hub.delivery.views import notification_view
from tests.fakes.clock import FakeClock
from tests.support.scenario import (
    ALL_CHANNELS,
    accept,
    approved_template,
    new_client,
    notify_item,
    run_until_final,
)

PHONES = [f"+7999000000{n}" for n in range(1, 10)]


async def test_sandbox_customers_cascade_as_documented(hub: Hub, clock: FakeClock) -> None:
    _, client = await new_client(hub)
    template = await approved_template(hub, client.id, context="survey")
    accepted = await accept(hub, client, [notify_item(template.id, p, route=ALL_CHANNELS) for p in PHONES])
    await run_until_final(hub, clock, [a.id for a in accepted])
    views = {
        p: await notification_view(hub.uow(), a.id, client.id) for p, a in zip(PHONES, accepted, strict=True)
    }
    legs = {p: [(leg["channel"], leg["status"]) for leg in v["legs"]] for p, v in views.items() if v}

    assert legs["+79990000001"][0] == ("vk", "read")
    assert views["+79990000001"]["status"] == "read"  # type: ignore[index]
    assert legs["+79990000002"] == [
        ("vk", "skipped"),
        ("ok", "skipped"),
        ("telegram", "skipped"),
        ("sms", "delivered"),
    ]
    assert views["+79990000002"]["legs"][0]["error"] == "inactive"  # type: ignore[index]
    assert legs["+79990000003"] == [
        ("vk", "expired"),
        ("ok", "skipped"),
        ("telegram", "skipped"),
        ("sms", "delivered"),
    ]
    assert legs["+79990000007"][2] == ("telegram", "sent")
    assert views["+79990000007"]["status"] == "sent"  # type: ignore[index]
    assert legs["+79990000008"][:2] == [("vk", "skipped"), ("ok", "read")]
    assert legs["+79990000009"][-1] == ("sms", "failed")
    assert views["+79990000009"]["status"] == "failed"  # type: ignore[index]
    # pay only for delivered legs: VK 0.90, SMS 3.50 a segment (this Cyrillic text is 2), Telegram free
    assert views["+79990000001"]["cost"] == 0.9  # type: ignore[index]
    assert views["+79990000003"]["cost"] == 7.0  # type: ignore[index]
    assert views["+79990000003"]["legs"][-1]["price"] == 7.0  # type: ignore[index]
    assert views["+79990000007"]["cost"] == 0  # type: ignore[index]
    assert views["+79990000009"]["cost"] == 0  # type: ignore[index]
    assert [r["text"] for r in views["+79990000004"]["replies"]] == ["СТОП"]  # type: ignore[index]
    assert [r["text"] for r in views["+79990000006"]["replies"]] == ["а когда привезут?"]  # type: ignore[index]


async def test_expired_messenger_message_is_withdrawn(hub: Hub, clock: FakeClock) -> None:
    _, client = await new_client(hub)
    template = await approved_template(hub, client.id)
    [a] = await accept(
        hub,
        client,
        [notify_item(template.id, "+79990000003", route=[{"channel": "vk", "ttl": 15}, {"channel": "sms"}])],
    )
    await run_until_final(hub, clock, [a.id])
    async with hub.uow() as uow:
        received = await uow.sandbox.received("1003")
    assert len(received) == 1 and received[0].withdrawn
