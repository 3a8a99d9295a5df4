"""Campaigns through the API with a moved clock: local windows, quiet hours, each contact once."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from hub.api.app import create_app
from hub.bootstrap import Hub
from storage.models import Contact, Notification
from tests.fakes.clock import FakeClock
from tests.support.scenario import approved_template, new_client, step

MakeClient = Callable[..., Awaitable[TestClient]]  # type: ignore[type-arg]
#: 21:09 in Moscow, 01:09 in Novosibirsk, 04:09 in Vladivostok: quiet hours everywhere.
START = datetime(2026, 12, 3, 18, 9, tzinfo=UTC).timestamp()
ZONES = {
    "+74951234567": ZoneInfo("Europe/Moscow"),
    "+73832123456": ZoneInfo("Asia/Novosibirsk"),
    "+74232123456": ZoneInfo("Asia/Vladivostok"),
}
OPTED_OUT, NO_CONSENT = "+74957654321", "+74237654321"
PROMO = "Скидка 20% на всё до воскресенья! Подробности в приложении."


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


async def _setup(hub: Hub, aiohttp_client: MakeClient) -> tuple[TestClient, dict[str, str], str, str]:  # type: ignore[type-arg]
    made, client = await new_client(hub)
    template = await approved_template(hub, client.id, text=PROMO, name="promo", category="marketing")
    api = await aiohttp_client(create_app(hub, run_workers=False))
    auth = {"Authorization": f"Bearer {made.api_key}"}
    rows = (
        "phone,marketing_consent\n"
        + "".join(f"{p},yes\n" for p in [*ZONES, OPTED_OUT])
        + f"{NO_CONSENT},no\n"
    )
    answer = await api.post(
        "/v1/contacts/import", data=rows.encode(), headers={**auth, "Content-Type": "text/csv"}
    )
    assert answer.status == 200, await answer.text()
    async with hub.uow() as uow:
        contact = await uow.contacts.by_phone(client.id, OPTED_OUT)
        assert contact is not None
        await uow.contacts.set_opted_out(contact.id, True)
        await uow.commit()
    return api, auth, template.id, client.id


async def _sent(hub: Hub) -> list[tuple[float, str]]:
    """(created_at, phone) of every notification in the database."""
    async with hub.engine.connect() as conn:
        rows = await conn.execute(select(Notification.created_at, Contact.phone).join(Contact))
        return [(at, phone) for at, phone in rows.all()]


async def _run(hub: Hub, clock: FakeClock, hours: float) -> None:
    assert hub.feeder is not None
    end = clock.now() + hours * 3600
    while clock.now() < end:
        await hub.feeder.run_once()
        await step(hub, clock, 600)


async def test_each_customer_is_messaged_once_inside_their_own_window(
    hub: Hub, clock: FakeClock, aiohttp_client: MakeClient
) -> None:
    api, auth, template_id, _ = await _setup(hub, aiohttp_client)
    phones = [*ZONES, OPTED_OUT, NO_CONSENT, "+74951234567"]  # one twice: still one message
    body = {
        "name": "Winter sale",
        "template_id": template_id,
        "audience": {"phones": phones},
        "local_window": {"from": "10:00", "to": "20:00"},
        "route": [{"channel": "sms"}],
    }
    created = await api.post("/v1/campaigns", json=body, headers=auth)
    assert created.status == 201, await created.text()
    campaign = await created.json()
    assert (campaign["status"], campaign["audience_size"]) == ("running", 5)
    assert campaign["counts"]["skipped"] == {"no_marketing_consent": 1, "opted_out": 1}

    await _run(hub, clock, 2)  # still night everywhere: nothing goes out
    assert await _sent(hub) == []

    await _run(hub, clock, 30)
    sent = await _sent(hub)
    assert sorted(phone for _, phone in sent) == sorted(ZONES)
    for at, phone in sent:
        local = datetime.fromtimestamp(at, UTC).astimezone(ZONES[phone])
        assert 10 <= local.hour < 20, (phone, local)

    view = await (await api.get(f"/v1/campaigns/{campaign['id']}", headers=auth)).json()
    assert view["status"] == "finished"
    assert view["counts"]["queued"] == 3 and view["counts"]["delivered"] == 3
    assert view["counts"]["cost"] > 0
    again = await api.post(f"/v1/campaigns/{campaign['id']}/pause", headers=auth)
    assert again.status == 409 and (await again.json())["error"]["code"] == "campaign_status"


async def test_a_paused_campaign_waits_and_a_cancelled_one_sends_no_more(
    hub: Hub, clock: FakeClock, aiohttp_client: MakeClient
) -> None:
    api, auth, template_id, _ = await _setup(hub, aiohttp_client)
    body = {"name": "Sale", "template_id": template_id, "audience": {"phones": list(ZONES)}}
    campaign = await (await api.post("/v1/campaigns", json=body, headers=auth)).json()
    paused = await api.post(f"/v1/campaigns/{campaign['id']}/pause", headers=auth)
    assert (await paused.json())["status"] == "paused"
    await _run(hub, clock, 30)
    assert await _sent(hub) == []
    await api.post(f"/v1/campaigns/{campaign['id']}/resume", headers=auth)
    cancelled = await (await api.post(f"/v1/campaigns/{campaign['id']}/cancel", headers=auth)).json()
    assert cancelled["status"] == "cancelled" and cancelled["counts"]["cancelled"] == 3
    await _run(hub, clock, 30)
    assert await _sent(hub) == []


async def test_ab_variants_split_the_audience_and_report_apart(
    hub: Hub, clock: FakeClock, aiohttp_client: MakeClient
) -> None:
    api, auth, template_a, client_id = await _setup(hub, aiohttp_client)
    second = await approved_template(hub, client_id, text=PROMO + " B", name="b", category="marketing")
    template_b = second.id
    body = {
        "name": "A/B",
        "variants": [{"template_id": template_a, "share": 0.5}, {"template_id": template_b, "share": 0.5}],
        "audience": {"phones": list(ZONES)},
        "quiet_hours": False,
    }
    campaign = await (await api.post("/v1/campaigns", json=body, headers=auth)).json()
    assert sum(v["audience"] for v in campaign["variants"]) == 3
    again = await (await api.get(f"/v1/campaigns/{campaign['id']}", headers=auth)).json()
    assert [(v["template_id"], v["audience"]) for v in again["variants"]] == [
        (v["template_id"], v["audience"]) for v in campaign["variants"]
    ]


async def test_groups_and_segments_resolve_into_one_audience_each_contact_once(
    hub: Hub, clock: FakeClock, aiohttp_client: MakeClient
) -> None:
    api, auth, template_id, _ = await _setup(hub, aiohttp_client)
    group = await (await api.post("/v1/groups", json={"name": "VIP"}, headers=auth)).json()
    members = {"phones": ["+74951234567", "+73832123456"]}
    assert (await api.post(f"/v1/groups/{group['id']}/members", json=members, headers=auth)).status == 200
    east = {"name": "East", "filter": {"timezone": "Asia/Vladivostok"}}
    segment = await api.post("/v1/segments", json=east, headers=auth)
    assert segment.status == 201, await segment.text()
    audience = {"groups": ["VIP"], "segments": [(await segment.json())["id"]], "phones": ["+74951234567"]}
    body = {"name": "Mixed", "template_id": template_id, "audience": audience}
    created = await api.post("/v1/campaigns", json=body, headers=auth)
    assert created.status == 201, await created.text()
    view = await created.json()
    assert view["audience_size"] == 4  # Moscow and Novosibirsk (group), Vladivostok twice (segment)
    assert view["counts"]["skipped"] == {"no_marketing_consent": 1}
    unknown = await api.post("/v1/campaigns", json={**body, "audience": {"groups": ["Nobody"]}}, headers=auth)
    assert unknown.status == 404 and "Nobody" in (await unknown.json())["error"]["message"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"local_window": {"from": "25:00", "to": "20:00"}}, "local_window.from"),
        ({"variants": [{"template_id": "x", "share": 0.5}, {"template_id": "y", "share": 0.3}]}, "shares"),
        ({"send_at": "2020-01-01T10:00:00+03:00"}, "send_at"),
        ({"send_at": "2030-01-01T10:00:00+03:00"}, "send_at"),
        ({"audience": {}}, "audience"),
        ({"surprise": 1}, "surprise"),
        ({"template_id": "tpl_nope"}, "tpl_nope"),
    ],
)
async def test_bad_campaigns_are_refused_naming_the_field_and_nothing_is_created(
    hub: Hub, clock: FakeClock, aiohttp_client: MakeClient, change: dict[str, Any], field: str
) -> None:
    api, auth, template_id, _ = await _setup(hub, aiohttp_client)
    body: dict[str, Any] = {
        "name": "Bad",
        "template_id": template_id,
        "audience": {"phones": list(ZONES)},
        **change,
    }
    if "variants" in change:
        del body["template_id"]
    answer = await api.post("/v1/campaigns", json=body, headers=auth)
    assert 400 <= answer.status < 500
    assert field in (await answer.json())["error"]["message"]
    assert (await (await api.get("/v1/campaigns", headers=auth)).json())["campaigns"] == []
