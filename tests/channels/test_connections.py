"""Connections: CLI and admin API (secrets masked everywhere), and the router built from them."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient
from typer.testing import CliRunner

from bots.sms import FailoverSms
from bots.vk import VkChannel
from hub.api.app import create_app
from hub.bootstrap import Hub
from hub.channels.connections import add_connection
from hub.channels.router import GuardedChannel
from hub.cli.main import app
from hub.errors import ConnectionBroken, RecipientUnreachable
from tests.support.scenario import new_client

MakeClient = Callable[..., Awaitable[TestClient]]  # type: ignore[type-arg]
TOKEN = "vk1.a.Very-Secret-Community-Token-0123456789"
ADMIN = {"Authorization": "Bearer admin-secret"}


def test_cli_add_list_remove_without_showing_secrets(db_url: str, tmp_path: Path) -> None:
    config = tmp_path / "hub.yaml"
    config.write_text(
        f"database: {{url: '{db_url}'}}\nsandbox: {{enabled: false}}\nlogging: {{level: WARNING}}\n"
    )
    runner = CliRunner()

    def run(*args: str) -> str:
        result = runner.invoke(app, [*args, "--config", str(config)])
        assert result.exit_code == 0, result.output
        assert TOKEN not in result.output and "hunter2-password" not in result.output
        return result.output

    run("clients", "create", "Shop")
    vk = json.loads(
        run(
            "connections",
            "add",
            "vk",
            "--client",
            "Shop",
            "--group-id",
            "42",
            "--token",
            TOKEN,
            "--secret",
            "cb-secret",
            "--confirmation",
            "a1b2c3",
            "--mode",
            "callback",
            "--json",
        )
    )
    assert vk["id"] > 0 and vk["channel"] == "vk" and vk["mode"] == "callback"
    assert vk["settings"]["token"] == "****6789" and vk["settings"]["secret"] == "****"
    assert vk["settings"]["api_base_url"] == "https://api.vk.com/method"
    assert vk["endpoint"] == vk["callback_url"] and vk["endpoint"].startswith("/channels/vk/")
    assert len(vk["endpoint"].rsplit("/", 1)[1]) == 32  # the random callback token, not the id
    smpp = json.loads(
        run(
            "connections",
            "add",
            "sms",
            "--client",
            "Shop",
            "--smpp-host",
            "127.0.0.1",
            "--smpp-port",
            "2775",
            "--system-id",
            "shop",
            "--password",
            "hunter2-password",
            "--json",
        )
    )
    assert smpp["mode"] == "longpoll" and smpp["settings"]["password"] == "****"
    listed = json.loads(run("connections", "list", "--json"))
    assert [c["id"] for c in listed] == [vk["id"], smpp["id"]]
    assert "removed" in run("connections", "remove", str(vk["id"]))
    assert [c["id"] for c in json.loads(run("connections", "list", "--json"))] == [smpp["id"]]
    missing = runner.invoke(app, ["connections", "remove", str(vk["id"]), "--config", str(config)])
    assert missing.exit_code == 1 and "no connection" in missing.output
    bad = runner.invoke(
        app,
        [
            "connections",
            "add",
            "sms",
            "--client",
            "Shop",
            "--sender",
            "x" * 12,
            "--api-base-url",
            "http://gw",
            "--config",
            str(config),
        ],
    )
    assert bad.exit_code == 1 and "sender" in bad.output


async def test_admin_api_add_list_remove(hub: Hub, aiohttp_client: MakeClient) -> None:
    api = await aiohttp_client(create_app(hub, run_workers=False))
    _, client = await new_client(hub)
    body = {"client_id": client.id, "channel": "vk", "settings": {"group_id": 7, "token": TOKEN}}
    assert (await api.post("/v1/admin/connections", json=body)).status == 401
    resp = await api.post("/v1/admin/connections", json=body, headers=ADMIN)
    created = await resp.json()
    assert resp.status == 201 and created["settings"]["token"] == "****6789"
    assert TOKEN not in await resp.text()
    assert isinstance(hub.channels.adapter(client.id, "vk"), GuardedChannel)  # reloaded at once
    bad = await api.post("/v1/admin/connections", json={**body, "settings": {"token": "t"}}, headers=ADMIN)
    assert bad.status == 422 and "group_id" in (await bad.json())["error"]["message"]
    listed = await (await api.get(f"/v1/admin/connections?client_id={client.id}", headers=ADMIN)).json()
    assert [c["id"] for c in listed["connections"]] == [created["id"]]
    assert TOKEN not in json.dumps(listed)
    assert (await api.delete(f"/v1/admin/connections/{created['id']}", headers=ADMIN)).status == 200
    assert (await api.delete(f"/v1/admin/connections/{created['id']}", headers=ADMIN)).status == 404
    assert hub.channels.adapter(client.id, "vk") is not None  # no connections left: the sandbox again


async def test_router_uses_connections_and_failover(hub: Hub) -> None:
    _, client = await new_client(hub)
    _, sandbox_client = await new_client(hub, "Sandbox user")
    now = hub.clock.now()
    await add_connection(hub.uow(), client.id, "vk", {"group_id": 1, "token": TOKEN}, now)
    await add_connection(hub.uow(), client.id, "sms", {"api_base_url": "http://a", "token": "a"}, now)
    await add_connection(hub.uow(), client.id, "sms", {"api_base_url": "http://b", "token": "b"}, now)
    await hub.channels.reload(hub.uow, hub.clock.now)
    vk = hub.channels.adapter(client.id, "vk")
    assert isinstance(vk, GuardedChannel) and isinstance(vk.inner, VkChannel)
    sms = hub.channels.adapter(client.id, "sms")
    assert isinstance(sms, FailoverSms) and len(sms.routes) == 2
    with pytest.raises(RecipientUnreachable):  # a live client never falls back to the sandbox
        hub.channels.adapter(client.id, "telegram")
    assert not isinstance(hub.channels.adapter(sandbox_client.id, "vk"), GuardedChannel)
    await hub.channels.reload(hub.uow, hub.clock.now)
    assert hub.channels.adapter(client.id, "vk") is vk  # unchanged connections keep their adapter


async def test_connection_broken_is_marked_and_alerted(hub: Hub, caplog: pytest.LogCaptureFixture) -> None:
    _, client = await new_client(hub)
    created = await add_connection(
        hub.uow(), client.id, "vk", {"group_id": 1, "token": TOKEN}, hub.clock.now()
    )
    await hub.channels.reload(hub.uow, hub.clock.now)
    with caplog.at_level(logging.ERROR, logger="notifyhub"):
        logging.getLogger("notifyhub").propagate = True
        await hub.channels.report_broken(created.id, ConnectionBroken("token revoked", channel="vk", code=5))
    async with hub.uow() as uow:
        row = await uow.connections.get(created.id)
    assert row is not None and row.status == "broken" and "token revoked" in (row.last_error or "")
    assert any(r.levelno == logging.ERROR and "broken" in r.getMessage() for r in caplog.records)
    assert TOKEN not in caplog.text
