"""Inbound replies: from channel ingress to the client's signed webhook, replies/s and latency.

    python benchmarks/inbound.py                      # SQLite and PostgreSQL, 5,000 replies each
    python benchmarks/inbound.py --db sqlite --count 2000 --concurrency 32

The hub runs as `notifyhub serve` (API, ingress and the webhook sender in one process). This
process plays VK: it POSTs Callback API `message_new` updates for 1,000 linked customers to
`/channels/vk/{token}` (one reply per request, `--concurrency` in flight), and plays the
client: an aiohttp receiver that verifies every webhook with the independent `standardwebhooks`
library. Per reply, latency = webhook verified - callback posted. Each reply is classified by the
shipped model, filed in its thread, and its `reply.received` webhook is committed with it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
import yaml
from aiohttp import web
from standardwebhooks.webhooks import Webhook

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.live import (  # noqa: E402
    cpu_seconds,
    free_port,
    new_secret_key,
    print_table,
    scratch_database,
    wait_ready,
)

CUSTOMERS = 1000
TEXTS = ("5, всё отлично", "а когда привезут?", "спасибо, получил", "thanks, got it")
SECRET = "vk-bench-secret"


def write_config(path: Path, db_url: str, port: int, processes: int = 1) -> None:
    """Hub config: no sandbox, quiet logs; several processes share the port."""
    config = {
        "server": {"host": "127.0.0.1", "port": port, "reuse_port": processes > 1},
        "database": {"url": db_url, "pool_size": 20},
        "dispatch": {"workers": 1},
        "logging": {"level": "WARNING"},
        "admin_token": "bench-admin",
        "sandbox": {"enabled": False},
        # the client's receiver is this process, on loopback over plain http
        "webhooks": {"allow_private_urls": True, "require_https": False},
        "secret_key": new_secret_key(),  # seals the connection token and webhook secret
    }
    path.write_text(yaml.safe_dump(config))


async def prepare(config_path: Path) -> tuple[str, str]:
    """Client, VK callback connection and linked customers; returns (API key, callback token)."""
    from hub.bootstrap import build_hub
    from hub.channels.connections import add_connection
    from hub.config import load_config
    from hub.ids import new_id
    from hub.security.accounts import create_client
    from storage.migrate import upgrade

    config = load_config(config_path, environ={})
    await asyncio.to_thread(upgrade, config.database.url)
    hub = build_hub(config)
    try:
        now = hub.clock.now()
        made = await create_client(hub.uow(), "Bench", now)
        settings = {
            "group_id": 1,
            "token": "t",
            "secret": SECRET,
            "confirmation": "c",
            "api_base_url": "http://127.0.0.1:9",
        }
        conn = await add_connection(hub.uow(), made.id, "vk", settings, now, mode="callback")
        contacts, idents = [], []
        for n in range(CUSTOMERS):
            cid = new_id("con")
            contacts.append(
                {
                    "id": cid,
                    "client_id": made.id,
                    "phone": f"+7999200{n:04d}",
                    "opted_out": False,
                    "marketing_consent": False,
                    "ownership": "verified",
                    "created_at": now,
                }
            )
            idents.append(
                {
                    "id": new_id("idn"),
                    "client_id": made.id,
                    "contact_id": cid,
                    "channel": "vk",
                    "external_id": str(700000 + n),
                    "last_active_at": now,
                    "allowed": True,
                    "linked_at": now,
                }
            )
        async with hub.uow() as uow:
            await uow.contacts.add_many(contacts, idents)
            await uow.commit()
        return made.api_key, conn.callback_token
    finally:
        await hub.aclose()


class Receiver:
    """The client's webhook endpoint: verifies each delivery and notes when reply n arrived."""

    def __init__(self) -> None:
        self.secret = ""
        self._verifier: tuple[str, Webhook] | None = None
        self.arrived: dict[int, float] = {}
        self.bad = 0
        self.done = asyncio.Event()
        self.expect = 0

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        if self._verifier is None or self._verifier[0] != self.secret:
            self._verifier = (self.secret, Webhook(self.secret))
        try:
            payload = self._verifier[1].verify(body, dict(request.headers))
        except Exception:
            self.bad += 1
            return web.Response(status=400)
        n = int(payload["data"]["text"].rsplit("#", 1)[1])
        self.arrived.setdefault(n, time.perf_counter())
        if len(self.arrived) >= self.expect:
            self.done.set()
        return web.Response(status=204)


def update(n: int) -> bytes:
    """VK `message_new` callback for reply n."""
    message = {
        "id": 10_000 + n,
        "date": int(time.time()),
        "peer_id": 700000 + n % CUSTOMERS,
        "from_id": 700000 + n % CUSTOMERS,
        "text": f"{TEXTS[n % len(TEXTS)]} #{n}",
        "conversation_message_id": 10_000 + n,
        "out": 0,
        "version": 1,
        "attachments": [],
        "fwd_messages": [],
        "important": False,
        "is_hidden": False,
    }
    body = {
        "group_id": 1,
        "type": "message_new",
        "event_id": f"ev{n}",
        "v": "5.199",
        "secret": SECRET,
        "object": {"message": message, "client_info": {}},
    }
    return json.dumps(body).encode()


async def fire(base: str, connection: str, start: int, count: int, concurrency: int) -> dict[int, float]:
    """POST `count` callbacks, `concurrency` at a time; returns when each was sent."""
    sent: dict[int, float] = {}
    queue = iter(range(start, start + count))
    async with aiohttp.ClientSession() as session:

        async def worker() -> None:
            for n in queue:
                sent[n] = time.perf_counter()
                async with session.post(f"{base}/channels/vk/{connection}", data=update(n)) as resp:
                    if resp.status != 200:
                        raise RuntimeError(f"ingress answered {resp.status}: {await resp.text()}")

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return sent


async def measure(
    kind: str, db_url: str, count: int, concurrency: int, tmp: Path, processes: int = 1
) -> dict[str, Any]:
    """One run on one database, with `processes` hub processes sharing the port."""
    port, hook_port = free_port(), free_port()
    config = tmp / f"{kind}.yaml"
    write_config(config, db_url, port, processes)
    key, connection = await prepare(config)
    receiver = Receiver()
    app = web.Application()
    app.router.add_post("/hook", receiver.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", hook_port).start()
    # cwd=ROOT: an editable install made before nlu/ existed does not map the `nlu` package
    # BENCH_PROFILE=file: run the hub under cProfile, writing its statistics there on exit
    prof = ["-m", "cProfile", "-o", os.environ["BENCH_PROFILE"]] if os.environ.get("BENCH_PROFILE") else []
    command = [sys.executable, *prof, "-m", "hub", "serve", "--config", str(config)]
    servers = [subprocess.Popen(command, cwd=ROOT) for _ in range(processes)]
    base = f"http://127.0.0.1:{port}"
    try:
        await wait_ready(base)
        await asyncio.sleep(2 if processes > 1 else 0)  # the others are up too (each loads the same)
        async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {key}"}) as s:
            body = {"url": f"http://127.0.0.1:{hook_port}/hook", "events": ["reply.received"]}
            async with s.post(f"{base}/v1/webhooks", json=body) as resp:
                receiver.secret = (await resp.json())["secret"]
        warm = 50
        receiver.expect = warm
        await fire(base, connection, 0, warm, 8)  # loads the classifier, warms pools
        await asyncio.wait_for(receiver.done.wait(), 60)
        receiver.arrived.clear()
        receiver.done.clear()
        receiver.expect = count
        started, own_before = time.perf_counter(), time.process_time()
        cpu_before = sum(cpu_seconds(server.pid) for server in servers)
        sent = await fire(base, connection, warm, count, concurrency)
        await asyncio.wait_for(receiver.done.wait(), 300)
        finished = max(receiver.arrived.values())
        cpu_used = sum(cpu_seconds(server.pid) for server in servers) - cpu_before
        own_used = time.process_time() - own_before
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            server.wait(30)
        await runner.cleanup()
    latencies = sorted((receiver.arrived[n] - t) * 1000 for n, t in sent.items())
    return {
        "db": kind,
        "processes": processes,
        "replies": count,
        "replies/s": count / (finished - started),
        "p50 ms": latencies[len(latencies) // 2],
        "p99 ms": latencies[int(len(latencies) * 0.99) - 1],
        "hub CPU ms/reply": cpu_used * 1000 / count,
        "load CPU ms/reply": own_used * 1000 / count,
        "bad signatures": receiver.bad,
    }


async def main() -> None:
    """Run and print the table."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--count", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=48, help="callbacks in flight")
    parser.add_argument(
        "--processes", type=int, default=1, help="hub processes sharing the port (PostgreSQL only)"
    )
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        if args.db in ("sqlite", "both"):
            rows.append(
                await measure(
                    "sqlite", f"sqlite+aiosqlite:///{tmp / 'bench.db'}", args.count, args.concurrency, tmp
                )
            )
        if args.db in ("postgresql", "both"):
            async with scratch_database() as url:
                rows.append(
                    await measure("postgresql", url, args.count, args.concurrency, tmp, args.processes)
                )
    cols = ["db", "processes", "replies", "replies/s", "p50 ms", "p99 ms"]
    cols += ["hub CPU ms/reply", "load CPU ms/reply", "bad signatures"]
    print(f"concurrency {args.concurrency} callbacks in flight; target 1,000 replies/s, p99 < 100 ms")
    print_table(rows, cols, decimals=1)


if __name__ == "__main__":
    asyncio.run(main())
