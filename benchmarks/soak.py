"""Soak: minutes of steady mixed load, watching each hub process for leaks.

    python benchmarks/soak.py            # PostgreSQL, 20 minutes, 200 notifications/s + 100 replies/s
    python benchmarks/soak.py --minutes 2 --db sqlite

Outbound: every second one `/v1/notify/batch` of `--notify-rate` items to the sandbox customers
(as benchmarks/outbound.py). Inbound: `--reply-rate` VK Callback API replies a second through
`/channels/vk/{token}`, each forwarded as a signed `reply.received` webhook to a receiver here
that verifies it (as benchmarks/inbound.py). PostgreSQL runs `notifyhub serve --no-workers` plus
`--workers` `notifyhub worker` processes; SQLite one `notifyhub serve`.

Every `--sample` seconds it prints, per hub process, resident memory, open file descriptors and
live asyncio tasks (from /metrics), with the database's connections and the work done so far;
at the end, once the load stops and the backlog drains, a verdict: first/last/max of each, the
throughput achieved, and whether every accepted notification is final and every reply's webhook
arrived.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
import yaml
from aiohttp import web

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.inbound import Receiver, fire, prepare  # noqa: E402
from benchmarks.live import free_port, scratch_database, wait_ready  # noqa: E402
from benchmarks.outbound import (  # noqa: E402
    approved_template,
    batch_body,
    count,
    post_all,
    run_cli,
    write_config,
)
from benchmarks.soak_probe import Probe, print_verdict  # noqa: E402


def soak_config(path: Path, db_url: str, port: int) -> None:
    """outbound.py's config (1,000 instant sandbox customers) that also takes webhooks on loopback."""
    write_config(path, db_url, port, workers=2)
    config = yaml.safe_load(path.read_text())
    config["webhooks"] = {"allow_private_urls": True, "require_https": False}
    config["security"] = {"rate_limit_per_second": 1000, "rate_limit_burst": 1000}
    path.write_text(yaml.safe_dump(config))


async def _setup_api(base: str, key: str, hook_url: str, receiver: Receiver) -> tuple[str, str]:
    """The replies' webhook endpoint, and a second client with no connections of its own (so it
    sends into the sandbox) with an approved template; returns (its API key, the template id)."""
    async with aiohttp.ClientSession() as s:
        hook = {"url": hook_url, "events": ["reply.received"]}
        async with s.post(f"{base}/v1/webhooks", json=hook, headers={"Authorization": f"Bearer {key}"}) as r:
            receiver.secret = (await r.json())["secret"]
        admin = {"Authorization": "Bearer bench-admin"}
        async with s.post(f"{base}/v1/admin/clients", json={"name": "Soak"}, headers=admin) as r:
            sender_key = str((await r.json())["api_key"])
        template = await approved_template(s, base, {"Authorization": f"Bearer {sender_key}"})
    return sender_key, template


class Load:
    """Steady load: each second a batch of notifications and a burst of replies."""

    def __init__(self, base: str, key: str, template: str, connection: str, rates: tuple[int, int]) -> None:
        self.base, self.template, self.connection = base, template, connection
        self.auth = {"Authorization": f"Bearer {key}"}
        self.notify_rate, self.reply_rate = rates
        self.accepted = 0
        self.replies = 0
        self.overlap = 0  # most seconds' loads under way at once (1: each done within its second)
        self._next_reply = 1000  # replies below this were the warm-up

    async def second(self) -> None:
        """One second's worth of load, both kinds concurrently."""
        body = batch_body(self.template, range(self.accepted, self.accepted + self.notify_rate))
        start, self._next_reply = self._next_reply, self._next_reply + self.reply_rate
        accepted, _ = await asyncio.gather(
            post_all(self.base, self.auth, [body], 1),
            fire(self.base, self.connection, start, self.reply_rate, 16),
        )
        self.accepted += accepted
        self.replies += self.reply_rate

    async def run(self, seconds: float) -> None:
        """Start a second's load every second for `seconds`; late seconds overlap, and are counted."""
        began, pending = time.monotonic(), set[asyncio.Task[None]]()
        for tick in range(int(seconds)):
            await asyncio.sleep(max(0.0, began + tick - time.monotonic()))
            task = asyncio.create_task(self.second())
            pending.add(task)
            self.overlap = max(self.overlap, len(pending))
            task.add_done_callback(pending.discard)
        await asyncio.gather(*pending)


async def soak(args: argparse.Namespace, tmp: Path, db_url: str, database: str | None) -> None:
    """Start the hub, warm it up, load it for `--minutes` while sampling, drain, and judge."""
    port, hook_port = free_port(), free_port()
    config = tmp / "soak.yaml"
    soak_config(config, db_url, port)
    key, connection = await prepare(config)
    receiver = Receiver()
    receiver.expect = 10**9
    app = web.Application()
    app.router.add_post("/hook", receiver.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", hook_port).start()
    log = (tmp / "hub.log").open("wb")
    procs: dict[str, Any] = {}
    metrics = {"serve": f"http://127.0.0.1:{port}/metrics"}
    if database is None:
        procs["serve"] = run_cli(config, "serve", stderr=log)
    else:
        procs["serve"] = run_cli(config, "serve", "--no-workers", stderr=log)
        for n in range(args.workers):
            metrics_port = free_port()
            procs[f"worker-{n + 1}"] = run_cli(
                config, "worker", "--metrics-port", str(metrics_port), stderr=log
            )
            metrics[f"worker-{n + 1}"] = f"http://127.0.0.1:{metrics_port}/metrics"
    base = f"http://127.0.0.1:{port}"
    try:
        await wait_ready(base)
        sender_key, template = await _setup_api(base, key, f"http://127.0.0.1:{hook_port}/hook", receiver)
        load = Load(base, sender_key, template, connection, (args.notify_rate, args.reply_rate))
        await fire(base, connection, 0, 50, 8)  # warm-up: loads the classifier, fills the pools
        await post_all(base, load.auth, [batch_body(template, range(10**7, 10**7 + 100))], 1)
        probe = Probe({name: p.pid for name, p in procs.items()}, metrics, db_url, database)
        await probe.sample(load, receiver)
        sampling = asyncio.create_task(probe.every(args.sample, load, receiver))
        started = time.monotonic()
        await load.run(args.minutes * 60)
        loaded = time.monotonic() - started
        sampling.cancel()
        expected = load.accepted + 100  # with the warm-up batch
        drained = await _drain(db_url, receiver, expected, load.replies + 50)
        await probe.sample(load, receiver)
        final = await count(db_url, "SELECT count(*) FROM notifications WHERE final")
        print_verdict(probe, load, receiver, loaded, drained, final, expected, args.warmup)
    finally:
        for proc in procs.values():
            proc.terminate()
        for proc in procs.values():
            proc.wait(60)
        log.close()
        await runner.cleanup()


async def _drain(db_url: str, receiver: Receiver, notifications: int, replies: int) -> float:
    """Wait (up to 10 minutes) for the backlog: every notification final, every webhook in."""
    began = time.monotonic()
    while time.monotonic() - began < 600:
        final = await count(db_url, "SELECT count(*) FROM notifications WHERE final")
        if final >= notifications and len(receiver.arrived) >= replies:
            break
        await asyncio.sleep(1)
    return time.monotonic() - began


async def main() -> None:
    """Parse flags, make a database, soak."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", choices=["postgresql", "sqlite"], default="postgresql")
    parser.add_argument("--minutes", type=float, default=20)
    parser.add_argument("--notify-rate", type=int, default=200, help="notifications per second")
    parser.add_argument("--reply-rate", type=int, default=100, help="inbound replies per second")
    parser.add_argument("--workers", type=int, default=1, help="worker processes (PostgreSQL)")
    parser.add_argument("--sample", type=float, default=60, help="seconds between samples")
    parser.add_argument(
        "--warmup", type=float, default=5, help="minutes after which RSS should be flat (caches full)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        if args.db == "sqlite":
            await soak(args, tmp, f"sqlite+aiosqlite:///{tmp / 'soak.db'}", None)
            return
        async with scratch_database("notifyhub_soak") as url:
            await soak(args, tmp, url, url.rpartition("/")[2])


if __name__ == "__main__":
    asyncio.run(main())
