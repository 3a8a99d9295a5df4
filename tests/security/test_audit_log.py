"""Issue 8: the audit log records operator and agent actions with actor and address, scoped per client."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from aiohttp.test_utils import TestClient

from bots.base import InboundMessage
from hub.api.app import create_app
from hub.bootstrap import Hub
from hub.security.accounts import create_agent
from hub.web.session import COOKIE
from tests.support.inbox_session import csrf_of, sign_in
from tests.support.real_adapters import link_customer
from tests.support.scenario import new_client

MakeClient = Callable[..., Awaitable[TestClient]]  # type: ignore[type-arg]
ADMIN = {"Authorization": "Bearer admin-secret"}
PHONE = "+79161112233"
VK_TOKEN = "vk1.a.Very-Secret-Community-Token-0123456789"


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def audit_of(api: TestClient, headers: dict[str, str], **query: str) -> list[dict[str, Any]]:  # type: ignore[type-arg]
    resp = await api.get("/v1/audit", params=query, headers=headers)
    assert resp.status == 200, await resp.text()
    return list((await resp.json())["entries"])


async def ok(resp: Any, status: int = 200) -> dict[str, Any]:
    assert resp.status == status, await resp.text()
    return dict(await resp.json()) if resp.status != 204 else {}


async def customer_writes(hub: Hub, client_id: str) -> None:
    """A customer with a VK identity asks a question, which opens a thread."""
    await link_customer(hub, client_id, PHONE, vk="3001")
    at = datetime.fromtimestamp(hub.clock.now(), UTC)
    await hub.ingest.apply([InboundMessage("vk", "3001", "а когда привезут?", "3001-1", at)])


async def test_every_listed_action_is_audited_with_actor_and_address(
    hub: Hub, aiohttp_client: MakeClient
) -> None:
    api = await aiohttp_client(create_app(hub, run_workers=False))
    secrets: list[str] = [VK_TOKEN, PHONE]
    made = await ok(await api.post("/v1/admin/clients", json={"name": "Pizza"}, headers=ADMIN), 201)
    client_id, key = made["id"], made["api_key"]
    agent = await ok(
        await api.post("/v1/admin/agents", json={"client_id": client_id, "name": "Marina"}, headers=ADMIN),
        201,
    )
    secrets += [key, agent["api_key"]]
    tpl = await ok(
        await api.post(
            "/v1/templates", json={"name": "otp", "text": "#code#", "category": "otp"}, headers=auth(key)
        ),
        201,
    )
    await ok(
        await api.post(
            f"/v1/admin/templates/{tpl['id']}/decision", json={"status": "approved"}, headers=ADMIN
        )
    )
    access = {"ip_allowlist": ["127.0.0.0/8"], "rate_limit": {"per_second": 100, "burst": 200}}
    await ok(await api.patch(f"/v1/admin/clients/{client_id}", json=access, headers=ADMIN))
    conn_body = {"client_id": client_id, "channel": "vk", "settings": {"group_id": 7, "token": VK_TOKEN}}
    conn = await ok(await api.post("/v1/admin/connections", json=conn_body, headers=ADMIN), 201)
    await ok(await api.delete(f"/v1/admin/connections/{conn['id']}", headers=ADMIN))
    hook = await ok(
        await api.post("/v1/webhooks", json={"url": "http://127.0.0.1:9/h/T0KEN?sig=abc"}, headers=auth(key)),
        201,
    )
    rotated_hook = await ok(await api.post(f"/v1/webhooks/{hook['id']}/rotate", headers=auth(key)))
    secrets += [hook["secret"], rotated_hook["secret"], "T0KEN"]
    await ok(await api.post("/v1/webhooks/replay", json={"ids": ["whd_none"]}, headers=auth(key)))
    await ok(await api.delete(f"/v1/webhooks/{hook['id']}", headers=auth(key)), 204)

    await customer_writes(hub, client_id)
    as_agent = auth(agent["api_key"])
    [thread] = (await ok(await api.get("/v1/threads", headers=as_agent)))["threads"]
    message = (await ok(await api.get(f"/v1/threads/{thread['id']}", headers=as_agent)))["messages"][0]
    await ok(await api.post(f"/v1/threads/{thread['id']}/assign", json={}, headers=as_agent))
    await ok(
        await api.post(
            f"/v1/threads/{thread['id']}/messages", json={"text": f"Позвоните {PHONE}"}, headers=as_agent
        ),
        202,
    )
    await ok(await api.patch(f"/v1/messages/{message['id']}", json={"label": "other"}, headers=as_agent))
    await ok(await api.post(f"/v1/threads/{thread['id']}/resolve", headers=as_agent))
    assert (await api.post("/v1/threads/thr_missing/resolve", headers=as_agent)).status == 404  # not audited

    rotation = await ok(await api.post("/v1/keys/rotate", json={"overlap_hours": 1}, headers=auth(key)), 201)
    secrets.append(rotation["api_key"])
    await ok(await api.delete(f"/v1/keys/{rotation['old_key']['id']}", headers=auth(rotation["api_key"])))

    entries = await audit_of(api, ADMIN, client_id=client_id, limit="200")
    by_action = {e["action"]: e for e in entries}
    assert set(by_action) == {
        "client.created", "key.created", "template.approved", "client.allowlist_set", "client.rate_limit_set",
        "connection.added", "connection.removed", "webhook.created", "webhook.rotated", "webhook.replayed",
        "webhook.deleted", "thread.assigned", "thread.answered", "message.relabeled", "thread.resolved",
        "key.rotated", "key.revoked",
    }  # fmt: skip
    assert all(e["ip"] == "127.0.0.1" and e["client_id"] == client_id for e in entries)
    assert by_action["template.approved"]["actor"] == {"kind": "admin", "id": "admin", "name": "admin token"}
    assert by_action["template.approved"]["target"] == tpl["id"]
    assert by_action["connection.added"]["target"] == str(conn["id"])
    assert by_action["connection.removed"]["target"] == str(conn["id"])
    assert by_action["webhook.created"]["details"]["url"] == "http://127.0.0.1:9"
    answered = by_action["thread.answered"]
    assert answered["actor"]["kind"] == "agent" and answered["actor"]["name"] == "Marina"
    assert answered["target"] == thread["id"] and answered["actor"]["id"].startswith("key_")
    assert by_action["message.relabeled"]["details"] == {"label": "other", "rating": None}
    assert by_action["key.rotated"]["actor"]["kind"] == "client"
    assert by_action["key.rotated"]["details"]["new_key_id"] == rotation["key"]["id"]
    assert [e for e in entries if e["target"] == "thr_missing"] == []
    dump = json.dumps(entries, ensure_ascii=False)
    assert not [s for s in secrets if s in dump] and "whsec_" not in dump and "nh_" not in dump


async def test_clients_see_only_their_own_entries_admin_filters_and_pages(
    hub: Hub, aiohttp_client: MakeClient
) -> None:
    api = await aiohttp_client(create_app(hub, run_workers=False))
    a, client_a = await new_client(hub, "A")
    b, client_b = await new_client(hub, "B")
    for n in range(3):
        await ok(
            await api.post("/v1/webhooks", json={"url": f"http://127.0.0.1:9/{n}"}, headers=auth(a.api_key)),
            201,
        )
    await ok(
        await api.post("/v1/webhooks", json={"url": "http://127.0.0.1:9/b"}, headers=auth(b.api_key)), 201
    )
    own = await audit_of(api, auth(a.api_key))
    assert len(own) == 3 and {e["client_id"] for e in own} == {client_a.id}
    sneaky = await audit_of(
        api, auth(b.api_key), client_id=client_a.id
    )  # the filter cannot widen a client's view
    assert [e["client_id"] for e in sneaky] == [client_b.id]
    assert len(await audit_of(api, ADMIN)) == 4
    assert len(await audit_of(api, ADMIN, action="webhook.created", client_id=client_b.id)) == 1
    assert await audit_of(api, ADMIN, action="key.rotated") == []
    first = await (await api.get("/v1/audit", params={"limit": "2"}, headers=ADMIN)).json()
    second = await (
        await api.get("/v1/audit", params={"limit": "2", "cursor": first["next_cursor"]}, headers=ADMIN)
    ).json()
    ids = [e["id"] for e in first["entries"] + second["entries"]]
    assert len(ids) == 4 and ids == sorted(ids, reverse=True) and second["next_cursor"] is not None
    assert (await api.get("/v1/audit")).status == 401
    assert (await api.get("/v1/audit", params={"limit": "0"}, headers=ADMIN)).status == 422


async def test_inbox_actions_are_audited_as_the_session(hub: Hub, aiohttp_client: MakeClient) -> None:
    app = create_app(hub, run_workers=False)
    api = await aiohttp_client(app)
    created, client = await new_client(hub, "A")
    await customer_writes(hub, client.id)
    body = {"name": "t", "text": "#code#", "category": "otp"}
    tpl = await ok(await api.post("/v1/templates", json=body, headers=auth(created.api_key)), 201)
    now = hub.clock.now()
    made = await create_agent(hub.uow(), client.id, "Marina", now)  # no actor: not audited
    agent = await sign_in(api, made.api_key)
    assert await audit_of(api, ADMIN) == []  # nothing audited yet
    [thread] = (await ok(await api.get("/v1/threads", headers=auth(created.api_key))))["threads"]
    thread_id = thread["id"]
    cookie = {"Cookie": f"{COOKIE}={agent}"}
    form = {"csrf": await csrf_of(api, agent)}
    resp = await api.post(
        f"/inbox/threads/{thread_id}/assign", data=form, headers=cookie, allow_redirects=False
    )
    assert resp.status == 303
    operator = await sign_in(api, "admin-secret")
    cookie = {"Cookie": f"{COOKIE}={operator}"}
    form = {"csrf": await csrf_of(api, operator, "/inbox/console"), "status": "rejected", "reason": "реклама"}
    resp = await api.post(
        f"/inbox/console/templates/{tpl['id']}/decision", data=form, headers=cookie, allow_redirects=False
    )
    assert resp.status == 303
    entries = {e["action"]: e for e in await audit_of(api, ADMIN)}
    assert entries["thread.assigned"]["actor"] == {"kind": "agent", "id": "inbox", "name": "Marina"}
    assert (
        entries["thread.assigned"]["client_id"] == client.id
        and entries["thread.assigned"]["ip"] == "127.0.0.1"
    )
    rejected = entries["template.rejected"]
    assert rejected["actor"]["kind"] == "admin" and rejected["client_id"] == client.id
    assert rejected["details"] == {"status": "rejected", "reason": "реклама"}
