"""Issue 8: channel tokens and webhook secrets are stored sealed; the hub still sends, verifies, signs."""

from __future__ import annotations

import json
import stat
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr
from sqlalchemy import text
from typer.testing import CliRunner

from bots.base import InboundMessage
from hub.api.app import create_app
from hub.bootstrap import Hub, build_hub
from hub.channels.connections import add_connection, callback_path
from hub.cli.main import app
from hub.config import Config, load_config
from hub.security.secrets import box_for, reseal_stored
from storage.secret_box import PREFIX, SecretBox, SecretKeyError, new_key
from tests.conftest import TEST_SECRET_KEY, make_config
from tests.fakes.clock import FakeClock
from tests.fakes.sms_gateway import FakeSmsGateway
from tests.fakes.vk_api import message_new
from tests.support.real_adapters import dispatch, link_customer
from tests.support.scenario import accept, approved_template, new_client, notify_item
from tests.support.webhook_receiver import Receiver

MakeClient = Callable[..., Awaitable[TestClient]]  # type: ignore[type-arg]
MakeServer = Callable[..., Awaitable[TestServer]]
VK_TOKEN = "vk1.a.Very-Secret-Community-Token-0123456789"
CALLBACK_SECRET = "cb-secret-s3cr3t"


# -- the box alone (no event loop) ------------------------------------------------------------


def test_sealed_values_carry_the_prefix_and_not_the_secret() -> None:
    box = SecretBox([new_key()])
    sealed = box.seal(VK_TOKEN)
    assert sealed.startswith(PREFIX) and VK_TOKEN not in sealed
    assert box.open(sealed) == VK_TOKEN
    assert box.seal(VK_TOKEN) != sealed  # a fresh IV each time


def test_legacy_plain_text_reads_and_is_resealed() -> None:
    box = SecretBox([new_key()])
    assert box.open("plain-token") == "plain-token"
    assert not box.is_current("plain-token")
    assert box.open(box.reseal("plain-token")) == "plain-token"
    settings = {"group_id": 1, "token": "plain-token", "secret": None, "api_base_url": "https://x"}
    sealed = box.seal_settings(settings)
    assert sealed["token"].startswith(PREFIX) and sealed["group_id"] == 1 and sealed["secret"] is None
    assert box.open_settings(sealed) == settings


def test_key_rotation_first_key_seals_all_keys_open() -> None:
    old, new = new_key(), new_key()
    sealed_old = SecretBox([old]).seal("s")
    rotating = SecretBox([new, old])
    assert rotating.open(sealed_old) == "s" and not rotating.is_current(sealed_old)
    resealed = rotating.reseal(sealed_old)
    assert rotating.is_current(resealed) and rotating.reseal(resealed) == resealed
    assert SecretBox([new]).open(resealed) == "s"


def test_wrong_or_malformed_keys_are_clear_errors() -> None:
    sealed = SecretBox([new_key()]).seal(VK_TOKEN)
    with pytest.raises(SecretKeyError, match="cannot be decrypted with the configured secret_key") as e:
        SecretBox([new_key()]).open(sealed)
    assert VK_TOKEN not in str(e.value)
    with pytest.raises(SecretKeyError, match="32 url-safe base64"):
        SecretBox(["not-a-key"])


def _config(url: str, key: str | None = None) -> Config:
    environ = {"NOTIFYHUB_DATABASE__URL": url, **({"NOTIFYHUB_SECRET_KEY": key} if key else {})}
    return load_config(None, environ=environ)


def test_sqlite_without_a_key_gets_a_private_key_file(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}"
    sealed = box_for(_config(url)).seal("s")
    key_file = tmp_path / "hub.db.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert box_for(_config(url)).open(sealed) == "s"  # the same key next time
    configured = box_for(_config(url, new_key()))  # a key set later still opens the file key's values
    assert configured.open(sealed) == "s" and not configured.is_current(sealed)
    memory = box_for(_config("sqlite+aiosqlite://"))  # in memory: a key for the process's lifetime
    assert memory.open(memory.seal("m")) == "m"


def test_postgresql_without_a_key_refuses_to_start() -> None:
    with pytest.raises(SecretKeyError, match=r"required on PostgreSQL.*NOTIFYHUB_SECRET_KEY"):
        build_hub(_config("postgresql+asyncpg://127.0.0.1/nowhere"))


# -- in the database ----------------------------------------------------------------------------


async def _raw(hub: Hub, sql: str) -> str:
    """Every value the query returns, as stored (plain SQL, no repository in between)."""
    async with hub.engine.connect() as conn:
        rows = (await conn.execute(text(sql))).all()
    return " ".join(v if isinstance(v, str) else json.dumps(v) for row in rows for v in row)


async def test_connection_secrets_are_sealed_and_still_used(
    hub: Hub, clock: FakeClock, aiohttp_client: MakeClient
) -> None:
    api = await aiohttp_client(create_app(hub, run_workers=False))
    _, client = await new_client(hub)
    now = hub.clock.now()
    vk = {"group_id": 1, "token": VK_TOKEN, "secret": CALLBACK_SECRET, "confirmation": "a1b2c3d4"}
    async with FakeSmsGateway(token="gw-Secret-Token-42") as gw:
        made = await add_connection(hub.uow(), client.id, "vk", vk, now, mode="callback")
        sms = {"api_base_url": gw.url, "token": gw.token, "sender": "Shop"}
        await add_connection(hub.uow(), client.id, "sms", sms, now)
        raw = await _raw(hub, "SELECT settings FROM connections")
        for secret in (VK_TOKEN, CALLBACK_SECRET, gw.token):
            assert secret not in raw
        assert raw.count(PREFIX) == 3 and "a1b2c3d4" in raw  # the confirmation string is not a secret
        # verifies VK callbacks with the secret ...
        body = {"type": "confirmation", "group_id": 1}
        assert await (await api.post(callback_path(made), json=body)).text() == "a1b2c3d4"
        event = message_new("e1", from_id=2001, text="hi", message_id=5)
        assert (await api.post(callback_path(made), json={**event, "secret": "wrong"})).status == 403
        right = await api.post(callback_path(made), json={**event, "secret": CALLBACK_SECRET})
        assert await right.text() == "ok"
        # ... and sends SMS with the gateway token (the fake answers 401 to any other)
        template = await approved_template(hub, client.id)
        await hub.channels.reload(hub.uow, hub.clock.now)
        await link_customer(hub, client.id, "+79161110001")
        await accept(hub, client, [notify_item(template.id, "+79161110001", route=[{"channel": "sms"}])])
        await dispatch(hub, clock)
        assert [m.to for m in gw.sent] == ["+79161110001"]


async def _endpoint(api: TestClient, key: str, url: str) -> dict[str, str]:  # type: ignore[type-arg]
    auth = {"Authorization": f"Bearer {key}"}
    resp = await api.post("/v1/webhooks", json={"url": url, "events": ["reply.received"]}, headers=auth)
    assert resp.status == 201, await resp.text()
    return dict(await resp.json())


async def test_webhook_secret_is_sealed_and_signatures_verify(
    hub: Hub, aiohttp_client: MakeClient, aiohttp_server: MakeServer
) -> None:
    receiver = Receiver()
    server = await aiohttp_server(receiver.app())
    api = await aiohttp_client(create_app(hub, run_workers=False))
    made, client = await new_client(hub)
    created = await _endpoint(api, made.api_key, str(server.make_url("/hook")))
    receiver.secret = created["secret"]
    assert created["secret"] not in await _raw(hub, "SELECT secret FROM webhook_endpoints")
    await link_customer(hub, client.id, "+79161110001", vk="2001")
    assert hub.webhook_sender is not None

    async def say(n: int) -> None:
        when = datetime.fromtimestamp(hub.clock.now(), UTC)
        await hub.ingest.apply([InboundMessage("vk", "2001", f"message {n}", f"m{n}", when)])
        await hub.webhook_sender.run_once()  # type: ignore[union-attr]

    await say(1)
    assert [r.data["text"] for r in receiver.got] == ["message 1"]  # verified with the shown secret
    auth = {"Authorization": f"Bearer {made.api_key}"}
    rotated = await (await api.post(f"/v1/webhooks/{created['id']}/rotate", headers=auth)).json()
    raw = await _raw(hub, "SELECT secret FROM webhook_endpoints")
    assert rotated["secret"] not in raw and created["secret"] not in raw and PREFIX in raw
    receiver.secret = rotated["secret"]
    await say(2)
    assert [r.data["text"] for r in receiver.got] == ["message 1", "message 2"]


async def test_legacy_rows_read_then_encrypt_secrets_seals_them(hub: Hub) -> None:
    _, client = await new_client(hub)
    vk = {"group_id": 7, "token": VK_TOKEN}
    made = await add_connection(hub.uow(), client.id, "vk", vk, hub.clock.now(), mode="longpoll")
    async with hub.engine.begin() as conn:  # as a database written before encryption holds it
        await conn.execute(
            text("UPDATE connections SET settings = :s WHERE id = :id"),
            {"s": json.dumps({"group_id": 7, "token": VK_TOKEN}), "id": made.id},
        )
    async with hub.uow() as uow:
        found = await uow.connections.get(made.id)
    assert found is not None and found.settings["token"] == VK_TOKEN
    assert str(await reseal_stored(hub.uow, dry_run=True)).startswith("1 connection(s)")
    assert VK_TOKEN in await _raw(hub, "SELECT settings FROM connections")  # a dry run writes nothing
    done = await reseal_stored(hub.uow)
    assert (done.connections, done.current) == (1, 0)
    assert VK_TOKEN not in await _raw(hub, "SELECT settings FROM connections")
    async with hub.uow() as uow:
        assert [c.settings["token"] for c in await uow.connections.live()] == [VK_TOKEN]
    assert (await reseal_stored(hub.uow)).current == 1


async def test_rotating_the_key_list(db_url: str, clock: FakeClock) -> None:
    new = new_key()

    async def with_key(key: str, work: Callable[[Hub], Awaitable[object]]) -> object:
        wired = build_hub(make_config(db_url, secret_key=SecretStr(key)), clock=clock)
        try:
            return await work(wired)
        finally:
            await wired.aclose()

    async def add(h: Hub) -> object:
        _, client = await new_client(h)
        return await add_connection(h.uow(), client.id, "ok", {"token": "ok-token-1"}, h.clock.now())

    async def tokens(h: Hub) -> object:
        async with h.uow() as uow:
            return [c.settings["token"] for c in await uow.connections.live()]

    await with_key(TEST_SECRET_KEY, add)
    assert await with_key(f"{new},{TEST_SECRET_KEY}", tokens) == ["ok-token-1"]
    with pytest.raises(SecretKeyError):
        await with_key(new, tokens)  # the new key alone cannot open the old key's values yet
    await with_key(f"{new},{TEST_SECRET_KEY}", lambda h: reseal_stored(h.uow))
    assert await with_key(new, tokens) == ["ok-token-1"]


def test_cli_wrong_key_is_one_line_not_a_traceback(db_url: str, tmp_path: Path) -> None:
    config = tmp_path / "hub.yaml"
    config.write_text(f"database: {{url: '{db_url}'}}\nsandbox: {{enabled: false}}\n")
    runner = CliRunner()
    args = ["--config", str(config)]
    assert runner.invoke(app, ["clients", "create", "Shop", *args]).exit_code == 0
    added = runner.invoke(app, ["connections", "add", "ok", "--client", "Shop", "--token", VK_TOKEN, *args])
    assert added.exit_code == 0, added.output
    wrong = runner.invoke(app, ["db", "encrypt-secrets", *args], env={"NOTIFYHUB_SECRET_KEY": new_key()})
    assert wrong.exit_code == 1 and isinstance(wrong.exception, SystemExit)  # handled, not a traceback
    assert "error: connection" in wrong.stderr and "cannot be decrypted" in wrong.stderr
    right = runner.invoke(app, ["db", "encrypt-secrets", *args])
    assert right.exit_code == 0 and "0 connection(s)" in right.stdout and "1 already current" in right.stdout
    assert runner.invoke(app, ["db", "new-key"]).stdout.strip().endswith("=")
