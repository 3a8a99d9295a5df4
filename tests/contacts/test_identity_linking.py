"""Issue 6, identity linking: deep links with one-time tokens, shared contacts, ownership states."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from bots.base import InboundMessage
from hub.api.app import create_app
from hub.bootstrap import Hub, build_hub
from hub.config import CascadeConfig
from hub.contacts.linking import hash_token
from storage.models import LinkToken
from tests.conftest import make_config
from tests.fakes.clock import FakeClock
from tests.support.linking_env import Env
from tests.support.real_adapters import link_customer
from tests.support.scenario import new_client

MakeClient = Callable[..., Awaitable[TestClient]]  # type: ignore[type-arg]
PHONE, OTHER = "+79161110001", "+79161110002"
VK_SMS = [{"channel": "vk", "ttl": 60}, {"channel": "sms"}]
DAY = 86400


@pytest.fixture
async def env(hub: Hub, clock: FakeClock, aiohttp_client: MakeClient) -> Env:
    made = Env(hub, await aiohttp_client(create_app(hub, run_workers=False)), clock)
    created, client = await new_client(hub, "Pizza")
    made.key, made.client_id = created.api_key, client.id
    await made.connect()
    return made


def token(answer: dict[str, object], channel: str) -> str:
    [link] = [x for x in answer["links"] if x["channel"] == channel]  # type: ignore[attr-defined]
    return str(link["token"])


async def test_links_per_channel_with_hashed_one_time_tokens(env: Env) -> None:
    answer = await env.links("8 916 111-00-01")
    assert answer["phone"] == PHONE and answer["ownership"] == "verified"
    urls = {link["channel"]: link["url"] for link in answer["links"]}
    assert urls["vk"] == f"https://vk.me/club77?ref={token(answer, 'vk')}"
    assert urls["telegram"] == f"https://t.me/shop_bot?start={token(answer, 'telegram')}"
    assert [u["channel"] for u in answer["unavailable"]] == ["ok"]  # OK carries no deep-link payload
    assert token(answer, "vk") != token(answer, "telegram")
    async with env.hub.uow() as uow:
        stored = (await uow.connections._session.execute(select(LinkToken))).scalars().all()
    assert {t.token_hash for t in stored} == {hash_token(token(answer, c)) for c in ("vk", "telegram")}
    only_tg = await env.links(PHONE, channels=["telegram"], ttl_days=1)
    assert [link["channel"] for link in only_tg["links"]] == ["telegram"]
    refused = await env.api.post(f"/v1/contacts/{PHONE}/links", json={"ttl_days": 365}, headers=env.auth)
    assert refused.status == 422 and (await refused.json())["error"]["code"] == "invalid_field"


async def test_following_vk_link_links_and_notifications_use_it(env: Env) -> None:
    answer = await env.links(PHONE)
    await env.vk_writes(5001, "Здравствуйте", ref=token(answer, "vk"))
    contact = await env.contact(PHONE)
    assert contact["ownership"] == "verified"
    assert [(i["channel"], i["external_id"]) for i in contact["identities"]] == [("vk", "5001")]
    assert contact["thread_id"] is not None  # the message itself is filed as a reply
    legs = await env.send(PHONE, VK_SMS)
    assert [leg.status for leg in legs] == ["delivered", "skipped"]
    assert [m.recipient for m in env.channels["vk"].sent] == ["5001"] and not env.channels["sms"].sent


async def test_telegram_start_token_links(env: Env) -> None:
    answer = await env.links(PHONE)
    await env.tg_writes(7001, f"/start {token(answer, 'telegram')}")
    contact = await env.contact(PHONE)
    assert [(i["channel"], i["external_id"]) for i in contact["identities"]] == [("telegram", "7001")]
    legs = await env.send(PHONE, [{"channel": "telegram", "ttl": 60}, {"channel": "sms"}])
    assert legs[0].status == "delivered" and env.channels["telegram"].sent[0].recipient == "7001"


async def test_reused_expired_and_foreign_tokens_link_nothing(env: Env) -> None:
    answer = await env.links(PHONE)
    vk = token(answer, "vk")
    await env.vk_writes(5001, "hi", ref=vk)
    await env.vk_writes(5002, "me too", ref=vk)  # used already
    assert [i["external_id"] for i in (await env.contact(PHONE))["identities"]] == ["5001"]
    late = await env.links(OTHER)
    env.clock.advance(31 * DAY)
    await env.vk_writes(5003, "late", ref=token(late, "vk"))  # expired
    assert (await env.contact(OTHER))["identities"] == []
    created, _ = await new_client(env.hub, "Burger")
    foreign = await env.links(PHONE, key=created.api_key)  # client B's token through A's community
    await env.vk_writes(5004, "wrong shop", ref=token(foreign, "vk"))
    assert (await env.contact(PHONE, key=created.api_key))["identities"] == []
    assert [i["external_id"] for i in (await env.contact(PHONE))["identities"]] == ["5001"]
    async with env.hub.uow() as uow:  # every one of those messages was still filed, for client A
        owners = await uow.contacts.owners_of("vk", ["5002", "5003", "5004"])
    assert {ext: [c for c, _ in pairs] for ext, pairs in owners.items()} == {
        e: [env.client_id] for e in ("5002", "5003", "5004")
    }


async def test_conflicting_link_marks_the_old_contact_changed(env: Env) -> None:
    await link_customer(env.hub, env.client_id, PHONE, vk="5001", telegram="7001")
    await env.watch_webhooks()
    answer = await env.links(OTHER)
    await env.vk_writes(5001, "this is my new number", ref=token(answer, "vk"))
    old, new = await env.contact(PHONE), await env.contact(OTHER)
    assert old["ownership"] == "changed" and [i["channel"] for i in old["identities"]] == ["telegram"]
    assert new["ownership"] == "verified" and [i["external_id"] for i in new["identities"]] == ["5001"]
    events = [(e["type"], e["data"]["contact_id"]) for e in await env.events()]
    assert ("contact.linked", new["id"]) in events and ("contact.ownership_changed", old["id"]) in events
    legs = await env.send(PHONE, [{"channel": "telegram", "ttl": 60}, {"channel": "sms"}], important=True)
    assert (legs[0].status, legs[0].error) == ("skipped", "ownership_not_verified")
    assert legs[1].status == "delivered" and env.channels["sms"].sent[0].recipient == PHONE
    legs = await env.send(PHONE, [{"channel": "telegram", "ttl": 60}, {"channel": "sms"}])
    assert legs[0].status == "delivered"  # ordinary templates still use the messenger


async def test_client_report_then_relink_verifies_again(env: Env) -> None:
    await link_customer(env.hub, env.client_id, PHONE, vk="5001")
    agent = await env.api.post(
        "/v1/admin/agents",
        json={"client_id": env.client_id, "name": "olga"},
        headers={"Authorization": "Bearer admin-secret"},
    )
    agent_auth = {"Authorization": f"Bearer {(await agent.json())['api_key']}"}
    body = {"state": "changed"}
    refused = await env.api.post(f"/v1/contacts/{PHONE}/ownership", json=body, headers=agent_auth)
    assert refused.status == 403
    missing = await env.api.post(f"/v1/contacts/{OTHER}/ownership", json=body, headers=env.auth)
    assert missing.status == 404 and (await missing.json())["error"]["code"] == "contact_not_found"
    resp = await env.api.post(f"/v1/contacts/{PHONE}/ownership", json=body, headers=env.auth)
    assert resp.status == 200 and (await resp.json())["ownership"] == "changed"
    legs = await env.send(PHONE, VK_SMS, important=True)
    assert (legs[0].status, legs[0].error, legs[1].status) == (
        "skipped",
        "ownership_not_verified",
        "delivered",
    )
    await env.vk_writes(5001, "это всё ещё я", ref=token(await env.links(PHONE), "vk"))
    assert (await env.contact(PHONE))["ownership"] == "verified"
    assert (await env.send(PHONE, VK_SMS, important=True))[0].status == "delivered"


async def test_telegram_shared_contact_links_only_the_senders_own(env: Env) -> None:
    own = {"phone_number": "79161110001", "first_name": "Anna", "user_id": 7001}
    await env.tg_writes(7001, "", contact=own)
    contact = await env.contact(PHONE)
    assert [(i["channel"], i["external_id"]) for i in contact["identities"]] == [("telegram", "7001")]
    someone = {"phone_number": "+79161110002", "first_name": "Boris", "user_id": 9999}
    await env.tg_writes(7002, "", contact=someone)
    missing = await env.api.get(f"/v1/contacts/{OTHER}", headers=env.auth)
    assert missing.status == 404


async def test_tenant_isolation(env: Env) -> None:
    await link_customer(env.hub, env.client_id, PHONE, vk="5001")
    created, _ = await new_client(env.hub, "Burger")
    other = {"Authorization": f"Bearer {created.api_key}"}
    assert (await env.api.get(f"/v1/contacts/{PHONE}", headers=other)).status == 404
    report = await env.api.post(f"/v1/contacts/{PHONE}/ownership", json={"state": "changed"}, headers=other)
    assert report.status == 404
    assert (await env.contact(PHONE))["ownership"] == "verified"


async def test_sandbox_links_and_a_sandbox_customer_following_one(hub: Hub, clock: FakeClock) -> None:
    from hub.contacts.directory import issue_links

    _, client = await new_client(hub)
    answer = await issue_links(hub.uow(), client.id, "+79990000001", clock.now())
    urls = {link["channel"]: link["url"] for link in answer["links"]}
    assert set(urls) == {"vk", "ok", "telegram"} and urls["vk"].startswith("sandbox://vk?start=")
    at = datetime.fromtimestamp(clock.now(), UTC)
    follow = InboundMessage("vk", "1001", f"/start {token(answer, 'vk')}", "sbx-follow-1", at)
    await hub.ingest.apply([follow])
    async with hub.uow() as uow:
        contact = await uow.contacts.by_phone(client.id, "+79990000001")
        assert contact is not None
        idents = await uow.contacts.identities_of(contact.id)
    assert [(i.channel, i.external_id) for i in idents] == [("vk", "1001")]


async def test_quiet_for_90_days_turns_suspicious(
    db_url: str, clock: FakeClock, aiohttp_client: MakeClient
) -> None:
    config = make_config(db_url, cascade=CascadeConfig(activity_days=365))  # activity alone would not skip
    hub = build_hub(config, clock=clock)
    try:
        made = Env(hub, await aiohttp_client(create_app(hub, run_workers=False)), clock)
        created, client = await new_client(hub, "Pizza")
        made.key, made.client_id = created.api_key, client.id
        await made.connect()
        await made.vk_writes(5001, "hi", ref=token(await made.links(PHONE), "vk"))
        clock.advance(89 * DAY)
        assert (await made.contact(PHONE))["ownership"] == "verified"
        clock.advance(2 * DAY)
        assert (await made.contact(PHONE))["ownership"] == "suspicious"
        legs = await made.send(PHONE, VK_SMS, important=True)
        assert (legs[0].status, legs[0].error, legs[1].status) == (
            "skipped",
            "ownership_not_verified",
            "delivered",
        )
        assert (await made.send(PHONE, VK_SMS))[0].status == "delivered"  # not important: still VK
        await made.vk_writes(5001, "снова я", ref=token(await made.links(PHONE), "vk"))
        assert (await made.contact(PHONE))["ownership"] == "verified"
    finally:
        await hub.aclose()


async def test_telegram_stranger_is_asked_once_for_the_phone(env: Env) -> None:
    await env.tg_writes(7005, "привет")
    await env.tg_writes(7005, "ау?")
    await env.send(PHONE, [{"channel": "sms"}])  # runs the dispatcher, which sends the question too
    asks = [m for m in env.channels["telegram"].sent if m.ask_phone]
    assert [(m.recipient, m.category) for m in asks] == [("7005", "ask_phone")]
    await env.tg_writes(
        7005, "", contact={"phone_number": "+7 916 111-00-02", "first_name": "A", "user_id": 7005}
    )
    contact = await env.contact(OTHER)
    assert [(i["channel"], i["external_id"]) for i in contact["identities"]] == [("telegram", "7005")]
    async with env.hub.uow() as uow:  # the stranger's own contact got the phone: one thread, history kept
        threads = await uow.threads.of_contact(env.client_id, contact["id"])
    assert threads is not None and contact["thread_id"] == threads.id
