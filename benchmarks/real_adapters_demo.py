"""The demo flow again, with VK, Telegram and SMS legs going through the real adapters to the fakes.

    .venv/bin/python -m benchmarks.real_adapters_demo [--config benchmarks/real_adapters.yaml]

Starts the fake VK API, Telegram Bot API and SMS gateway from tests/fakes, a hub on a fresh
SQLite file with its HTTP API and workers, adds the client's connections through the admin API
(pointed at the fakes), sends one notification per customer and plays the customers on the
fakes: VK read receipts through Bots Long Poll, a VK reply through the Callback API, a Telegram
reply through getUpdates, SMS delivery reports through the gateway's status callback. Prints the
same table as `notifyhub demo`.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import yaml
from aiohttp import web
from pydantic import SecretStr

from hub.api.app import create_app
from hub.bootstrap import Hub, build_hub
from hub.cli.demo import TEXT, fetch_views, summary
from hub.config import Config
from hub.security.accounts import create_client
from storage.migrate import upgrade
from tests.fakes.sms_gateway import FakeSmsGateway
from tests.fakes.telegram_api import FakeTelegramApi, text_update
from tests.fakes.vk_api import FakeVkApi, message_new, send_callback
from tests.support.real_adapters import link_customer

DEADLINE = 30.0


@dataclass(frozen=True)
class Customer:
    """One simulated customer (a row of the printed table)."""

    phone: str
    name: str
    vk: str | None = None
    telegram: str | None = None
    reads: bool = False
    vk_error: int | None = None
    sms: str | None = None
    replies: str | None = None


class Players:
    """Plays the customers on the fakes: reads, replies and delivery reports, each once."""

    def __init__(
        self, customers: list[Customer], vk: FakeVkApi, tg: FakeTelegramApi, gw: FakeSmsGateway
    ) -> None:
        self.by_vk = {int(c.vk): c for c in customers if c.vk}
        self.by_tg = {int(c.telegram): c for c in customers if c.telegram}
        self.by_phone = {c.phone: c for c in customers}
        self.vk, self.tg, self.gw = vk, tg, gw
        self.done: set[tuple[str, Any]] = set()

    async def play(self, base: str, paths: dict[str, str]) -> None:
        """React to whatever the fakes received since the last call."""
        for m in self.vk.sent:
            customer = self.by_vk[m.peer_id]
            if customer.reads and ("vk", m.message_id) not in self.done:
                self.done.add(("vk", m.message_id))
                obj = {"from_id": m.peer_id, "peer_id": m.peer_id, "read_message_id": m.message_id}
                self.vk.push(
                    {"group_id": 1, "type": "message_read", "event_id": f"r{m.message_id}", "object": obj}
                )
                if customer.replies:
                    update = message_new(
                        f"m{m.message_id}",
                        from_id=m.peer_id,
                        text=customer.replies,
                        message_id=m.message_id + 10_000,
                    )
                    await send_callback(
                        f"{base}{paths['vk']}", update, secret="demo-callback-secret"
                    )
        for t in self.tg.sent:
            customer = self.by_tg[t.chat_id]
            if customer.replies and ("tg", t.message_id) not in self.done:
                self.done.add(("tg", t.message_id))
                self.tg.push(text_update(t.chat_id, customer.replies, message_id=t.message_id + 10_000))
        for s in self.gw.sent:
            status = self.by_phone[s.to].sms
            if status and ("sms", s.id) not in self.done:
                self.done.add(("sms", s.id))
                async with aiohttp.ClientSession() as session:
                    body = {
                        "id": s.id,
                        "status": status,
                        "error": "" if status == "DELIVRD" else "absent subscriber",
                    }
                    async with session.post(f"{base}{paths['sms']}", json=body) as resp:
                        resp.raise_for_status()


def _connections(raw: dict[str, Any], urls: dict[str, str]) -> dict[str, dict[str, Any]]:
    text = yaml.safe_dump(raw, allow_unicode=True)
    for name, url in urls.items():
        text = text.replace("{" + name + "}", url)
    loaded: dict[str, dict[str, Any]] = yaml.safe_load(text)
    return loaded


async def _setup(
    hub: Hub, base: str, admin: str, spec: dict[str, Any], urls: dict[str, str]
) -> tuple[str, dict[str, str], str]:
    created = await create_client(hub.uow(), "Demo shop (real adapters)", hub.clock.now())
    paths: dict[str, str] = {}
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {admin}"}) as session:
        for channel, conn in _connections(spec["connections"], urls).items():
            body = {"client_id": created.id, "channel": channel, **conn}
            async with session.post(f"{base}/v1/admin/connections", json=body) as resp:
                resp.raise_for_status()
                paths[channel] = (await resp.json())["endpoint"]  # /channels/{channel}/{token}
    for c in spec["customers"]:
        idents = {k: c[k] for k in ("vk", "telegram") if c.get(k)}
        await link_customer(hub, created.id, c["phone"], **idents)
    return created.id, paths, created.api_key


async def _notify(session: aiohttp.ClientSession, base: str, admin: str, spec: dict[str, Any]) -> list[str]:
    body = {
        "name": "delivery survey",
        "text": spec.get("text", TEXT),
        "category": "service",
        "context": "survey",
    }
    async with session.post(f"{base}/v1/templates", json=body) as resp:
        template = await resp.json()
    decision = f"{base}/v1/admin/templates/{template['id']}/decision"
    async with session.post(
        decision, json={"status": "approved"}, headers={"Authorization": f"Bearer {admin}"}
    ) as resp:
        resp.raise_for_status()
    now = datetime.now(UTC).isoformat()
    items = [
        {
            "to": {"phone": c["phone"]},
            "template_id": template["id"],
            "params": {"name": "Анна", "order": f"{77031 + n}"},
            "route": spec["route"],
            "action_at": now,
            "idempotency_key": f"real-demo-{n}",
        }
        for n, c in enumerate(spec["customers"])
    ]
    async with session.post(f"{base}/v1/notify/batch", json={"items": items}) as resp:
        return [r["id"] for r in (await resp.json())["results"]]


def _settled(views: list[dict[str, Any]], customers: list[Customer]) -> bool:
    return all(v["final"] and (v["replies"] or not c.replies) for v, c in zip(views, customers, strict=True))


async def run(config: Config, spec: dict[str, Any]) -> None:
    """Start the fakes and the hub, run the demo flow, print the table."""
    started = time.monotonic()
    customers = [Customer(**c) for c in spec["customers"]]
    admin = secrets.token_urlsafe(16)
    config = config.model_copy(update={"admin_token": SecretStr(admin)})
    async with FakeVkApi() as vk, FakeTelegramApi() as tg, FakeSmsGateway() as gw:
        for c in customers:
            if c.vk and c.vk_error:
                vk.peer_errors[int(c.vk)] = c.vk_error
        hub = build_hub(config)
        runner = web.AppRunner(create_app(hub, run_workers=True))
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        base = f"http://127.0.0.1:{runner.addresses[0][1]}"
        try:
            urls = {"vk": vk.url, "telegram": tg.url, "sms": gw.url}
            _, conn_ids, api_key = await _setup(hub, base, admin, spec, urls)
            players = Players(customers, vk, tg, gw)
            async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {api_key}"}) as session:
                ids = await _notify(session, base, admin, spec)
                print(f"sent {len(ids)} notifications through the real VK, Telegram and SMS adapters...")
                views = await fetch_views(session, base, ids)
                while not _settled(views, customers) and time.monotonic() - started < DEADLINE:
                    await players.play(base, conn_ids)
                    await asyncio.sleep(0.2)
                    views = await fetch_views(session, base, ids)
            print(summary(config, list(zip(customers, views, strict=True)), time.monotonic() - started))
            print(f"fakes received: VK {len(vk.sent)}, Telegram {len(tg.sent)}, SMS {len(gw.sent)} messages")
        finally:
            await runner.cleanup()
            await hub.aclose()


def main() -> None:
    """Parse arguments, prepare a fresh database, run."""
    from hub.config import load_config

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=Path(__file__).with_name("real_adapters.yaml"))
    args = parser.parse_args()
    spec = yaml.safe_load(args.config.read_text(encoding="utf-8"))
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{tmp}/real-demo.db"
        upgrade(url)
        hub_file = Path(tmp) / "hub.yaml"
        hub_file.write_text(yaml.safe_dump(spec["hub"]), encoding="utf-8")
        config = load_config(hub_file, environ={"NOTIFYHUB_DATABASE__URL": url})
        asyncio.run(run(config, spec))


if __name__ == "__main__":
    main()
