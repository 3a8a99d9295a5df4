"""Every +7 999 1xx xx xx number is a sandbox customer whose behaviour follows from the number alone."""

from __future__ import annotations

from collections import Counter

from bots.sandbox_customers import (
    SandboxCustomer,
    SandboxCustomers,
    SandboxIdentity,
    generated_customer,
    generated_phone,
)
from hub.bootstrap import Hub
from hub.delivery.views import notification_view
from tests.fakes.clock import FakeClock
from tests.support.scenario import accept, approved_template, new_client, notify_item, run_until_final

ROUTE = [
    {"channel": "vk", "ttl": 15},
    {"channel": "telegram", "ttl": 15},
    {"channel": "ok", "ttl": 15},
    {"channel": "sms"},
]


def _profile(c: SandboxCustomer) -> str:
    where = "+".join(ch for ch in ("vk", "ok", "telegram") if getattr(c, ch) is not None)
    return where or ("unreachable" if c.sms_delivers_after is None else "sms")


def test_the_same_number_is_always_the_same_customer() -> None:
    generated_customer.cache_clear()
    first = generated_customer("+79991000030")
    generated_customer.cache_clear()
    assert generated_customer("+79991000030") == first
    # pinned: a SHA-256 of the number, the same on every machine and in every process
    assert first is not None and first.vk is not None and first.telegram is not None
    assert (first.vk.user_id, first.telegram.user_id, first.vk.reads_after) == (
        "700000030",
        "6100000030",
        1.0,
    )
    assert first.replies == "4 из 5, курьер немного опоздал"
    assert [_profile(generated_customer(f"+79991{n:06d}")) for n in (4, 7, 8, 31)] == [  # type: ignore[arg-type]
        "sms",
        "unreachable",
        "telegram",
        "ok",
    ]


def test_numbers_outside_the_range_are_not_generated() -> None:
    for phone in ("+79990999999", "+79992000000", "+79161234567", "+7999100000", "79991000001"):
        assert generated_customer(phone) is None
    assert generated_customer("+79991000000") is not None and generated_customer("+79991999999") is not None


def test_the_spread_of_100000_customers_is_as_documented() -> None:
    customers = [generated_customer(f"+79991{n:06d}") for n in range(100_000)]
    assert all(c is not None for c in customers)
    real = [c for c in customers if c is not None]
    share = {k: v / len(real) for k, v in Counter(_profile(c) for c in real).items()}
    assert abs(share["vk"] + share["vk+telegram"] - 0.60) < 0.01
    assert abs(share["vk+telegram"] - 0.12) < 0.01
    assert abs(share["telegram"] - 0.08) < 0.01 and abs(share["ok"] - 0.07) < 0.01
    assert abs(share["sms"] - 0.20) < 0.01 and abs(share["unreachable"] - 0.05) < 0.01
    vk = [c.vk for c in real if c.vk is not None]
    quick = sum(1 for i in vk if i.reads_after is not None and i.reads_after <= 11) / len(vk)
    never_delivered = sum(1 for i in vk if i.delivers_after is None) / len(vk)
    inactive = sum(1 for i in vk if i.last_active_days > 7) / len(vk)
    assert abs(quick - 0.50) < 0.01 and abs(never_delivered - 0.10) < 0.01 and abs(inactive - 0.20) < 0.01
    replies = Counter(c.replies for c in real)
    answering = sum(n for text, n in replies.items() if text is not None) / len(real)
    assert 0.08 < answering < 0.11
    assert replies["СТОП"] > 0 and replies["5, всё отлично"] > 0 and replies["а когда привезут?"] > 0


def test_messenger_ids_map_back_to_their_number_and_configured_customers_win() -> None:
    configured = SandboxCustomer(phone="+79991000030", name="mine", vk=SandboxIdentity(user_id="1"))
    customers = SandboxCustomers((configured,))
    assert customers.by_phone("+79991000030") == configured
    assert customers.by_identity("vk", "1") == configured
    assert customers.by_identity("telegram", "6100000017") == generated_customer("+79991000017")
    assert customers.by_identity("sms", "+79991000017") == generated_customer("+79991000017")
    assert customers.by_identity("telegram", "6100000016") is None  # +79991000016 has no Telegram
    assert customers.by_identity("vk", "699999999") is None and generated_phone("vk", "abc") is None
    assert SandboxCustomers((), generated=False).by_phone("+79991000017") is None


async def test_generated_customers_take_the_path_their_number_says(hub: Hub, clock: FakeClock) -> None:
    _, client = await new_client(hub)
    template = await approved_template(hub, client.id, context="survey")
    async with hub.uow() as uow:  # nothing is stored per customer before a send
        assert await uow.sandbox.received() == []
    expected = {
        "+79991000009": [("vk", "read")],  # VK, active today, reads within a second
        "+79991000035": [("vk", "skipped"), ("telegram", "skipped"), ("ok", "skipped"), ("sms", "delivered")],
        "+79991000010": [("vk", "expired"), ("telegram", "skipped"), ("ok", "skipped"), ("sms", "delivered")],
        "+79991000008": [("vk", "skipped"), ("telegram", "sent")],  # Telegram only: no receipts
        "+79991000004": [("vk", "skipped"), ("telegram", "skipped"), ("ok", "skipped"), ("sms", "delivered")],
        "+79991000007": [("vk", "skipped"), ("telegram", "skipped"), ("ok", "skipped"), ("sms", "failed")],
        "+79991000030": [("vk", "read")],  # and rates it 4
    }
    items = [notify_item(template.id, phone, route=ROUTE) for phone in expected]
    accepted = dict(zip(expected, await accept(hub, client, items), strict=True))
    await run_until_final(hub, clock, [a.id for a in accepted.values()])
    for phone, legs in expected.items():
        view = await notification_view(hub.uow(), accepted[phone].id, client.id)
        assert view is not None
        taken = [(leg["channel"], leg["status"]) for leg in view["legs"]][: len(legs)]
        assert taken == legs, phone
    rater = await notification_view(hub.uow(), accepted["+79991000030"].id, client.id)
    assert rater is not None and [r["text"] for r in rater["replies"]] == ["4 из 5, курьер немного опоздал"]
    inactive = await notification_view(hub.uow(), accepted["+79991000035"].id, client.id)
    assert inactive is not None and inactive["legs"][0]["error"] == "inactive"
