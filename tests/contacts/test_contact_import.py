"""Issue 6, contact import: CSV and JSON through the API and the CLI, per-row errors, idempotent."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from typer.testing import CliRunner

from hub.api.app import create_app
from hub.bootstrap import Hub
from hub.cli.main import app
from tests.fakes.clock import FakeClock
from tests.support.linking_env import Env
from tests.support.logs import FULL_PHONE
from tests.support.real_adapters import link_customer
from tests.support.scenario import new_client

MakeClient = Callable[..., Awaitable[TestClient]]  # type: ignore[type-arg]
CSV = (
    "phone;vk;telegram;marketing_consent;last_active_at\n"
    "+7 916 111-00-01;5001;;yes;2020-01-01T00:00:00Z\n"
    "89161110002;;7002;нет;\n"
    "not a phone;5003;;;\n"
    "+79161110004;12ab;;;\n"
    "+79161110001;;;;\n"
)


@pytest.fixture
async def env(hub: Hub, clock: FakeClock, aiohttp_client: MakeClient) -> Env:
    made = Env(hub, await aiohttp_client(create_app(hub, run_workers=False)), clock)
    created, client = await new_client(hub, "Pizza")
    made.key, made.client_id = created.api_key, client.id
    return made


async def post_csv(env: Env, text: str, key: str | None = None) -> tuple[int, dict[str, Any]]:
    auth = {"Authorization": f"Bearer {key or env.key}", "Content-Type": "text/csv"}
    resp = await env.api.post("/v1/contacts/import", data=text.encode(), headers=auth)
    return resp.status, dict(await resp.json())


async def test_csv_import_rows_errors_consent_and_idempotence(env: Env) -> None:
    status, result = await post_csv(env, CSV)
    assert status == 200
    assert (result["rows"], result["imported"], result["created"]) == (5, 2, 2)
    assert [(e["line"], e["code"]) for e in result["errors"]] == [
        (4, "bad_phone"),
        (5, "invalid_vk"),
        (6, "duplicate_phone"),
    ]
    assert "also on line 2" in result["errors"][2]["message"]
    first = await env.contact("+79161110001")
    assert first["marketing_consent"] is True
    assert [(i["channel"], i["external_id"], i["last_active_at"]) for i in first["identities"]] == [
        ("vk", "5001", "2020-01-01T00:00:00Z")
    ]
    second = await env.contact("+79161110002")
    assert second["marketing_consent"] is False and second["identities"][0]["external_id"] == "7002"
    status, again = await post_csv(env, CSV)
    assert (status, again["created"], again["updated"], again["unchanged"]) == (200, 0, 0, 2)
    status, consent = await post_csv(env, "phone,marketing_consent\n+79161110002,1\n")
    assert consent["updated"] == 1 and (await env.contact("+79161110002"))["marketing_consent"] is True


async def test_json_import_moves_strangers_refuses_taken_and_replaces_accounts(env: Env) -> None:
    await link_customer(env.hub, env.client_id, "+79161110009", vk="5009")
    stranger = await link_customer(env.hub, env.client_id, None, telegram="7777")  # wrote first, no phone
    await link_customer(env.hub, env.client_id, "+79161110001", vk="4000")
    items = [
        {"phone": "+79161110001", "vk": 5001, "marketing_consent": True},
        {"phone": "+79161110002", "telegram": "7777"},
        {"phone": "+79161110003", "vk": "5009"},
        {"phone": "+79161110004", "timezone": "Mars/Olympus"},
        "not an object",
    ]
    resp = await env.api.post("/v1/contacts/import", json={"contacts": items}, headers=env.auth)
    result = await resp.json()
    assert resp.status == 200 and (result["created"], result["updated"]) == (1, 1)
    assert [(e["index"], e["line"], e["code"]) for e in result["errors"]] == [
        (2, None, "identity_taken"),
        (3, None, "invalid_timezone"),
        (4, None, "invalid_row"),
    ]
    assert "+7916***0009" in result["errors"][0]["message"]  # masked, but the client can tell
    first = await env.contact("+79161110001")
    assert [i["external_id"] for i in first["identities"]] == ["5001"] and first["marketing_consent"]
    moved = await env.contact("+79161110002")
    assert [i["external_id"] for i in moved["identities"]] == ["7777"]
    async with env.hub.uow() as uow:
        assert await uow.contacts.identities_of(stranger) == []
    assert (await env.contact("+79161110009"))["identities"][0]["external_id"] == "5009"
    bare = await env.api.post("/v1/contacts/import", json=[{"phone": "+79161110005"}], headers=env.auth)
    assert (await bare.json())["created"] == 1


@pytest.mark.parametrize(
    ("body", "content_type", "status", "code"),
    [
        (b"\xff\xfe\x00bad", "text/csv", 400, "malformed_import"),
        (b"vk,telegram\n1,2\n", "text/csv", 422, "missing_column"),
        (b"phone,vk,VK_user_id\n+79161110001,2,3\n", "text/csv", 422, "duplicate_column"),
        (b"phone,vk\n", "text/csv", 422, "empty_import"),
        (b"{not json", "application/json", 400, "malformed_json"),
        (b'{"rows": []}', "application/json", 400, "malformed_import"),
        (b"[]", "application/json", 422, "empty_import"),
        (b"phone\n+79161110001\n", "application/x-www-form-urlencoded", 415, "unsupported_media_type"),
    ],
)
async def test_bad_files_are_refused_whole(
    env: Env, body: bytes, content_type: str, status: int, code: str
) -> None:
    headers = {**env.auth, "Content-Type": content_type}
    resp = await env.api.post("/v1/contacts/import", data=body, headers=headers)
    error = (await resp.json())["error"]
    assert (resp.status, error["code"]) == (status, code) and error["message"]
    async with env.hub.uow() as uow:
        assert await uow.contacts.by_phone(env.client_id, "+79161110001") is None


async def test_import_is_per_client_and_needs_a_client_key(env: Env) -> None:
    created, _ = await new_client(env.hub, "Burger")
    await post_csv(env, "phone,vk\n+79161110001,5001\n", key=created.api_key)
    assert (await env.api.get("/v1/contacts/+79161110001", headers=env.auth)).status == 404
    status, mine = await post_csv(env, "phone,vk\n+79161110001,5001\n")
    assert status == 200 and mine["created"] == 1  # the same VK id may belong to both clients' directories
    agent = await env.api.post(
        "/v1/admin/agents",
        json={"client_id": env.client_id, "name": "olga"},
        headers={"Authorization": "Bearer admin-secret"},
    )
    status, body = await post_csv(env, "phone\n+79161110003\n", key=(await agent.json())["api_key"])
    assert status == 403 and body["error"]["code"] == "forbidden"


def test_cli_import_summary_and_errors(db_url: str, tmp_path: Path) -> None:
    config = tmp_path / "hub.yaml"
    config.write_text(f"database: {{url: '{db_url}'}}\nlogging: {{level: WARNING}}\n")
    runner = CliRunner()

    def run(*args: str) -> Any:
        return runner.invoke(app, [*args, "--config", str(config)])

    assert run("clients", "create", "Shop").exit_code == 0
    good = tmp_path / "good.csv"
    good.write_text("phone,vk,marketing_consent\n+79161110001,5001,true\n")
    result = run("import", str(good), "--client", "Shop")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "imported 1 of 1 rows: 1 new, 0 updated, 0 unchanged, 0 with errors"
    mixed = tmp_path / "mixed.json"
    mixed.write_text(json.dumps([{"phone": "+79161110001", "vk": "5001"}, {"phone": "oops"}]))
    result = run("import", str(mixed), "--client", "Shop")
    assert result.exit_code == 2
    assert result.stdout.strip() == "imported 1 of 2 rows: 0 new, 0 updated, 1 unchanged, 1 with errors"
    assert result.stderr.startswith("item 1: bad_phone:")
    bad = tmp_path / "bad.csv"
    bad.write_text("telephone\n1\n")
    result = run("import", str(bad), "--client", "Shop")
    assert result.exit_code == 1 and result.stderr.startswith(
        "error: the header row must name a phone column"
    )
    assert "Traceback" not in result.output
    result = run("import", str(tmp_path / "missing.csv"), "--client", "Shop")
    assert result.exit_code == 1 and result.stderr.startswith("error:")
    result = run("import", str(good), "--client", "Nobody")
    assert result.exit_code == 1 and "no client named 'Nobody'" in result.stderr


async def test_linking_and_import_log_no_full_phone(env: Env, logged: Any) -> None:
    await env.connect()
    await link_customer(env.hub, env.client_id, "+79161110009", vk="5009")
    answer = await env.links("+79161110001")
    [vk] = [link["token"] for link in answer["links"] if link["channel"] == "vk"]
    await env.vk_writes(5009, "hi", ref=vk)  # a conflicting link
    await env.tg_writes(7001, "", contact={"phone_number": "79161110002", "first_name": "A", "user_id": 7001})
    await env.tg_writes(7003, "", contact={"phone_number": "12", "first_name": "B", "user_id": 7003})
    await post_csv(env, CSV + "+79161110009;5009;;;\n")
    await env.api.post("/v1/contacts/+79161110001/ownership", json={"state": "changed"}, headers=env.auth)
    assert any("linked" in line for line in logged.lines) and any("import" in line for line in logged.lines)
    assert [line for line in logged.lines if FULL_PHONE.search(line)] == []
