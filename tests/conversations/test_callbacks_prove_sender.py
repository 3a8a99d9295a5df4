"""Channel callbacks prove their sender: a random URL token, the platform's own secret, HTTP Basic for
SMS gateways, an optional IP allow-list; forged requests store nothing and are counted in /metrics."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from hub.api.app import create_app
from hub.bootstrap import Hub, build_hub
from hub.channels.connections import add_connection, callback_path
from hub.cli.main import app
from hub.delivery.views import notification_view
from hub.errors import RequestError
from storage.models import Connection, InboundMessage, Notification, OutboxItem, PendingReceipt
from tests.conftest import make_config
from tests.fakes.clock import FakeClock
from tests.fakes.ok_api import ok_update
from tests.fakes.sms_gateway import FakeSmsGateway, basic_auth
from tests.fakes.telegram_api import text_update
from tests.support.real_adapters import dispatch, link_customer
from tests.support.scenario import accept, approved_template, new_client, notify_item

MakeClient = Callable[..., Awaitable[TestClient]]  # type: ignore[type-arg]
ADMIN = {"Authorization": "Bearer admin-secret"}
PHONE = "+79161110001"
GATEWAY_LOGIN = ("gateway", "gw-callback-password")
TG_TOKEN = "123456:ABCdefGhIJKlmNoPQRstuVWXyz0123456"
TG_HEADER = "X-Telegram-Bot-Api-Secret-Token"


class Env:
    """An API client, a fake SMS gateway and one client with an SMS route that calls back with Basic."""

    def __init__(self, hub: Hub, api: TestClient, gw: FakeSmsGateway) -> None:  # type: ignore[type-arg]
        self.hub, self.api, self.gw = hub, api, gw
        self.client_id = ""
        self.sms: Connection

    def url(self, connection: Connection) -> str:
        return str(self.api.make_url(callback_path(connection)))

    async def count(self, model: Any) -> int:
        async with self.hub.uow() as uow:
            session = uow.connections._session
            return int((await session.execute(select(func.count()).select_from(model))).scalar_one())

    async def metrics(self) -> str:
        return await (await self.api.get("/metrics")).text()


async def _env(hub: Hub, aiohttp_client: MakeClient, gw: FakeSmsGateway) -> Env:
    env = Env(hub, await aiohttp_client(create_app(hub, run_workers=False)), gw)
    _, client = await new_client(hub)
    env.client_id = client.id
    user, password = GATEWAY_LOGIN
    settings = {"api_base_url": gw.url, "token": gw.token, "sender": "Shop"}
    settings |= {"callback_user": user, "callback_password": password}
    env.sms = await add_connection(hub.uow(), client.id, "sms", settings, hub.clock.now())
    await hub.channels.reload(hub.uow, hub.clock.now)
    await link_customer(hub, client.id, PHONE)
    gw.callback_auth = GATEWAY_LOGIN
    return env


@pytest.fixture
async def gw() -> AsyncIterator[FakeSmsGateway]:
    async with FakeSmsGateway() as fake:
        yield fake


@pytest.fixture
async def env(hub: Hub, aiohttp_client: MakeClient, gw: FakeSmsGateway) -> Env:
    return await _env(hub, aiohttp_client, gw)


async def _opted_out(env: Env) -> bool:
    async with env.hub.uow() as uow:
        contact = await uow.contacts.by_phone(env.client_id, PHONE)
    assert contact is not None
    return contact.opted_out


async def test_forged_sms_reply_is_refused_stores_nothing_and_sends_no_sms(
    env: Env, clock: FakeClock
) -> None:
    stop = {"from": PHONE.removeprefix("+"), "text": "СТОП", "id": "x1"}
    guesses = [f"/channels/sms/{env.sms.id}", f"/channels/sms/{env.sms.id + 1}", "/channels/sms/" + "A" * 32]
    for path in guesses:  # the connection's row id, the next one, a token-shaped guess
        resp = await env.api.post(path, json=stop)
        assert resp.status == 404, path
        assert (await resp.json())["error"]["code"] == "unknown_connection"
    no_login = await env.api.post(callback_path(env.sms), json=stop)  # the URL leaked, the login did not
    assert no_login.status == 401 and no_login.headers["WWW-Authenticate"].startswith("Basic ")
    wrong = basic_auth("gateway", "guessed-password")
    assert (await env.api.post(callback_path(env.sms), json=stop, headers=wrong)).status == 401

    await dispatch(env.hub, clock)
    assert await env.count(InboundMessage) == 0 and await env.count(OutboxItem) == 0
    assert await env.count(Notification) == 0 and env.gw.sent == []
    assert not await _opted_out(env)

    assert await env.gw.report(env.url(env.sms), stop) == (200, '{"accepted": 1, "skipped": 0}')
    assert await _opted_out(env)  # the gateway itself is believed


async def test_forged_receipt_is_refused_and_the_notification_stays_unpaid(
    env: Env, clock: FakeClock
) -> None:
    template = await approved_template(env.hub, env.client_id)
    async with env.hub.uow() as uow:
        client = await uow.clients.get(env.client_id)
    assert client is not None
    [accepted] = await accept(env.hub, client, [notify_item(template.id, PHONE, route=[{"channel": "sms"}])])
    await dispatch(env.hub, clock)
    [sms] = env.gw.sent  # gateway ids are sequential: gw-1, gw-2, ...

    async def view() -> dict[str, Any]:
        found = await notification_view(env.hub.uow(), accepted.id, env.client_id)
        assert found is not None
        return found

    forged = {"id": sms.id, "status": "delivered"}
    assert (await env.api.post(f"/channels/sms/{env.sms.id}", json=forged)).status == 404
    assert (await env.api.post(callback_path(env.sms), json=forged)).status == 401
    before = await view()
    assert (before["status"], before["cost"]) == ("sent", 0)
    assert await env.count(PendingReceipt) == 0

    assert (await env.gw.report(env.url(env.sms), forged))[0] == 200
    after = await view()
    assert after["status"] == "delivered" and after["cost"] > 0


async def test_parked_receipts_are_capped_per_connection(
    db_url: str, clock: FakeClock, aiohttp_client: MakeClient, gw: FakeSmsGateway
) -> None:
    base = make_config(db_url)
    config = base.model_copy(
        update={"security": base.security.model_copy(update={"parked_receipts_per_connection": 5})}
    )
    hub = build_hub(config, clock=clock)
    try:
        env = await _env(hub, aiohttp_client, gw)
        unknown = [{"id": f"made-up-{n}", "status": "delivered"} for n in range(1000)]
        assert (await env.gw.report(env.url(env.sms), unknown))[0] == 200
        assert await env.count(PendingReceipt) == 5
        assert (await env.gw.report(env.url(env.sms), unknown[:10]))[0] == 200
        assert await env.count(PendingReceipt) == 5  # still full: nothing more parked
        assert 'notifyhub_receipts_over_cap_total{channel="sms"} 1005.0' in await env.metrics()

        settings = {"api_base_url": gw.url, "token": gw.token, "sender": "Other"}
        other = await add_connection(hub.uow(), env.client_id, "sms", settings, hub.clock.now())
        assert (await env.api.post(callback_path(other), json=unknown[:3])).status == 200
        assert await env.count(PendingReceipt) == 8  # each connection has its own room
    finally:
        await hub.aclose()


async def test_sms_gateway_with_a_shared_secret_must_send_its_header(env: Env) -> None:
    secret = "shared-callback-secret-0123"
    settings = {"api_base_url": env.gw.url, "sender": "Other", "callback_secret": secret}
    route = await add_connection(env.hub.uow(), env.client_id, "sms", settings, env.hub.clock.now())
    reply = {"from": PHONE, "text": "когда привезут?", "id": "mo-7"}
    for headers in ({}, {"X-Callback-Secret": "shared-callback-secret-0124"}, basic_auth(*GATEWAY_LOGIN)):
        resp = await env.api.post(callback_path(route), json=reply, headers=headers)
        assert resp.status == 401 and "WWW-Authenticate" not in resp.headers
    assert await env.count(InboundMessage) == 0
    resp = await env.api.post(callback_path(route), json=reply, headers={"X-Callback-Secret": secret})
    assert resp.status == 200 and await env.count(InboundMessage) == 1

    smpp = {"kind": "smpp", "host": "127.0.0.1", "port": 2775, "system_id": "shop", "password": "pw"}
    with pytest.raises(RequestError, match="SMPP route takes no HTTP callbacks"):
        await add_connection(env.hub.uow(), env.client_id, "sms", {**smpp, "callback_secret": secret}, 0.0)
    with pytest.raises(RequestError, match="callback_password"):
        await add_connection(env.hub.uow(), env.client_id, "sms", {**settings, "callback_user": "gw"}, 0.0)


async def test_vk_callback_connection_without_secret_is_refused_at_creation(env: Env) -> None:
    settings = {"group_id": 77, "token": "vk-token", "confirmation": "c0nf"}
    with pytest.raises(RequestError, match="secret"):
        await add_connection(
            env.hub.uow(), env.client_id, "vk", settings, env.hub.clock.now(), mode="callback"
        )
    body = {"client_id": env.client_id, "channel": "vk", "mode": "callback", "settings": settings}
    resp = await env.api.post("/v1/admin/connections", json=body, headers=ADMIN)
    assert resp.status == 422 and "secret" in (await resp.json())["error"]["message"]
    telegram = {"client_id": env.client_id, "channel": "telegram", "mode": "callback"}
    resp = await env.api.post(
        "/v1/admin/connections", json={**telegram, "settings": {"token": TG_TOKEN}}, headers=ADMIN
    )
    assert resp.status == 422 and "webhook_secret" in (await resp.json())["error"]["message"]
    async with env.hub.uow() as uow:
        assert [c.channel for c in await uow.connections.live(env.client_id)] == ["sms"]

    made = await env.api.post(
        "/v1/admin/connections", json={**body, "settings": {**settings, "secret": "vk-secret"}}, headers=ADMIN
    )
    view = await made.json()
    assert made.status == 201 and view["callback_url"].startswith("/channels/vk/")
    assert view["callback_url"] != f"/channels/vk/{view['id']}" and "vk-secret" not in await made.text()


async def test_telegram_update_with_another_bots_secret_is_refused(env: Env) -> None:
    bots = {}
    for name in ("a", "b"):
        settings = {"token": TG_TOKEN, "webhook_secret": f"secret-{name}"}
        bots[name] = await add_connection(
            env.hub.uow(), env.client_id, "telegram", settings, env.hub.clock.now(), mode="callback"
        )
    await link_customer(env.hub, env.client_id, "+79161110002", telegram="3003")
    update = {"update_id": 10, **text_update(3003, "привет", message_id=3)}
    for headers in ({TG_HEADER: "secret-a"}, {TG_HEADER: "wrong"}, {}):
        resp = await env.api.post(callback_path(bots["b"]), json=update, headers=headers)
        assert resp.status == 403 and (await resp.json())["error"]["code"] == "forbidden"
    assert (
        await env.api.post(f"/channels/telegram/{bots['b'].id}", json=update, headers={TG_HEADER: "secret-b"})
    ).status == 404
    assert await env.count(InboundMessage) == 0
    right = await env.api.post(callback_path(bots["b"]), json=update, headers={TG_HEADER: "secret-b"})
    assert right.status == 200 and await env.count(InboundMessage) == 1


async def test_callbacks_from_outside_the_connections_allow_list_are_refused(env: Env) -> None:
    await link_customer(env.hub, env.client_id, "+79161110002", ok="user:1")
    now = env.hub.clock.now()
    outside = await add_connection(
        env.hub.uow(), env.client_id, "ok", {"token": "ok-1"}, now, ip_allowlist=["203.0.113.0/24"]
    )
    inside = await add_connection(
        env.hub.uow(), env.client_id, "ok", {"token": "ok-2"}, now, ip_allowlist=["127.0.0.0/8", "::1"]
    )
    update = ok_update("m1", user_id="user:1", text="привет")
    for headers in ({}, {"X-Forwarded-For": "203.0.113.7"}):  # the test client is 127.0.0.1, no proxy trusted
        resp = await env.api.post(callback_path(outside), json=update, headers=headers)
        assert resp.status == 403 and (await resp.json())["error"]["code"] == "ip_not_allowed"
    assert await env.count(InboundMessage) == 0
    assert (await env.api.post(callback_path(inside), json=update)).status == 200
    assert await env.count(InboundMessage) == 1

    bad = {"client_id": env.client_id, "channel": "ok", "settings": {"token": "t"}, "ip_allowlist": ["nope"]}
    resp = await env.api.post("/v1/admin/connections", json=bad, headers=ADMIN)
    assert resp.status == 422 and "ip_allowlist" in (await resp.json())["error"]["message"]


async def test_refused_callbacks_are_counted_in_metrics(env: Env) -> None:
    stop = {"from": PHONE, "text": "СТОП", "id": "x1"}
    for _ in range(3):
        await env.api.post(f"/channels/sms/{env.sms.id}", json=stop)
    await env.api.post(callback_path(env.sms), json=stop)
    await env.api.post("/channels/vk/%C2%B2", json={})
    text = await env.metrics()
    assert "# TYPE notifyhub_ingress_refused_total counter" in text
    assert 'notifyhub_ingress_refused_total{channel="sms",reason="unknown_connection"} 3.0' in text
    assert 'notifyhub_ingress_refused_total{channel="sms",reason="unauthorized"} 1.0' in text
    assert 'notifyhub_ingress_refused_total{channel="vk",reason="unknown_connection"} 1.0' in text
    assert callback_path(env.sms).rsplit("/", 1)[1] not in text  # tokens never become labels


def test_cli_prints_callback_urls_and_refuses_vk_callback_without_secret(db_url: str, tmp_path: Path) -> None:
    config = tmp_path / "hub.yaml"
    config.write_text(
        f"database: {{url: '{db_url}'}}\nsandbox: {{enabled: false}}\nlogging: {{level: WARNING}}\n"
        "server: {public_url: 'https://hub.example.com'}\n"
    )
    runner = CliRunner()

    def run(*args: str, code: int = 0) -> str:
        result = runner.invoke(app, [*args, "--config", str(config)])
        assert result.exit_code == code, result.output
        return result.output

    run("clients", "create", "Shop")
    vk = ["connections", "add", "vk", "--client", "Shop", "--group-id", "42", "--token", "vk-token"]
    refused = run(*vk, "--mode", "callback", code=1)
    assert refused.startswith("error:") and "secret" in refused
    made = json.loads(run(*vk, "--mode", "callback", "--secret", "cb-secret", "--json"))
    assert made["callback_url"] == "https://hub.example.com" + made["endpoint"]
    assert made["endpoint"].startswith("/channels/vk/") and made["endpoint"] != f"/channels/vk/{made['id']}"
    sms = json.loads(
        run(
            "connections", "add", "sms", "--client", "Shop", "--api-base-url", "http://gw",
            "--callback-user", "gateway", "--callback-password", "gw-callback-password",
            "--allow-ip", "203.0.113.0/24", "--allow-ip", "198.51.100.7", "--json",
        )
    )  # fmt: skip
    assert sms["settings"]["callback_password"] == "****" and "gw-callback-password" not in json.dumps(sms)
    assert sms["ip_allowlist"] == ["203.0.113.0/24", "198.51.100.7/32"]
    listed = run("connections", "list")
    assert made["callback_url"] in listed and sms["callback_url"] in listed
    assert "from 203.0.113.0/24,198.51.100.7/32" in listed
