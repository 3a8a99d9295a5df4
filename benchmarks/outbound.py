"""Outbound throughput: notifications accepted through the batch API and dispatched to the sandbox.

    python benchmarks/outbound.py                 # SQLite and PostgreSQL, 20,000 notifications each
    python benchmarks/outbound.py --db sqlite --count 5000

On PostgreSQL it starts `notifyhub serve --no-workers` and `notifyhub worker` as separate
processes; on SQLite (one writer at a time) one `notifyhub serve` runs both, as deployed.
It posts batches of 1,000 from this process, and measures:
  accepted/s    items answered 202 by the API (committed) per second of posting;
  dispatched/s  notifications whose leg went out to the sandbox, over the time from the first post;
  final/s       notifications that reached their final state (delivery receipt processed).
Beside them it prints the rate a bare aiohttp client/server pair reaches with the same bodies on
the same loopback in the same run: the ceiling the HTTP layer alone would allow.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import yaml
from aiohttp import web

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.live import (  # noqa: E402
    free_port,
    new_secret_key,
    print_table,
    scratch_database,
    wait_ready,
)

CUSTOMERS = 1000


def write_config(path: Path, db_url: str, port: int, workers: int) -> None:
    """A config with many instant-delivery sandbox customers."""
    customers = [
        {"phone": f"+7999100{n:04d}", "vk": {"user_id": str(500000 + n), "delivers_after": 0}}
        for n in range(CUSTOMERS)
    ]
    config = {
        "server": {"host": "127.0.0.1", "port": port},
        "database": {"url": db_url, "pool_size": 10},
        "dispatch": {"workers": workers, "batch_size": 1000, "poll_interval": 0.02},
        "logging": {"level": "WARNING"},
        "admin_token": "bench-admin",
        "secret_key": new_secret_key(),  # stored secrets are encrypted; PostgreSQL requires a key
        "sandbox": {"enabled": True, "poll_interval": 0.05, "customers": customers},
    }
    path.write_text(yaml.safe_dump(config))


async def approved_template(session: aiohttp.ClientSession, base: str, auth: dict[str, str]) -> str:
    """The benchmark's template, submitted with the client's key `auth` and approved by the operator."""
    body = {"name": "bench", "text": "Заказ #order# доставлен. Спасибо!", "category": "transactional"}
    async with session.post(f"{base}/v1/templates", json=body, headers=auth) as resp:
        template = str((await resp.json())["id"])
    admin = {"Authorization": "Bearer bench-admin"}
    url = f"{base}/v1/admin/templates/{template}/decision"
    async with session.post(url, json={"status": "approved"}, headers=admin) as resp:
        resp.raise_for_status()
    return template


def batch_body(template: str, numbers: range) -> bytes:
    """A `/v1/notify/batch` body: notification n to sandbox customer n % CUSTOMERS, VK then SMS."""
    now = datetime.now(UTC).isoformat()
    items = [
        {
            "to": {"phone": f"+7999100{n % CUSTOMERS:04d}"},
            "template_id": template,
            "params": {"order": str(n)},
            "action_at": now,
            "route": [{"channel": "vk", "ttl": 60}, {"channel": "sms"}],
        }
        for n in numbers
    ]
    return json.dumps({"items": items}).encode()


async def bare_rate(bodies: list[bytes], concurrency: int) -> float:
    """Items per second a trivial aiohttp server accepts from the same client loop."""

    async def handler(request: web.Request) -> web.Response:
        data = json.loads(await request.read())
        return web.json_response({"results": [{"id": "x"} for _ in data["items"]]}, status=202)

    app = web.Application(client_max_size=8 * 1024 * 1024)
    app.router.add_post("/v1/notify/batch", handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        started = time.perf_counter()
        items = await post_all(f"http://127.0.0.1:{port}", {}, bodies, concurrency)
        return items / (time.perf_counter() - started)
    finally:
        await runner.cleanup()


async def post_all(base: str, headers: dict[str, str], bodies: list[bytes], concurrency: int) -> int:
    queue = list(bodies)
    accepted = 0
    headers = {**headers, "Content-Type": "application/json"}
    async with aiohttp.ClientSession(headers=headers) as session:

        async def worker() -> None:
            nonlocal accepted
            while queue:
                body = queue.pop()
                async with session.post(f"{base}/v1/notify/batch", data=body) as resp:
                    result = await resp.json()
                    assert resp.status == 202, result
                    accepted += sum(1 for r in result["results"] if "id" in r)

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return accepted


async def count(db_url: str, sql: str) -> int:
    if db_url.startswith("sqlite"):
        import sqlite3

        with sqlite3.connect(db_url.split("///", 1)[1], timeout=30) as conn:
            return int(conn.execute(sql).fetchone()[0])
    conn = await asyncpg.connect(db_url.replace("+asyncpg", ""))
    try:
        return int(await conn.fetchval(sql))
    finally:
        await conn.close()


def run_cli(config: Path, *args: str, **kw: Any) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "hub", *args, "--config", str(config)], cwd=config.parent, **kw
    )


async def measure(
    kind: str, db_url: str, count_: int, processes: int, dispatchers: int, concurrency: int, tmp: Path
) -> dict[str, Any]:
    port = free_port()
    config = tmp / f"{kind}.yaml"
    write_config(config, db_url, port, dispatchers)
    subprocess.run(
        [sys.executable, "-m", "hub", "db", "upgrade", "--config", str(config)],
        check=True,
        cwd=tmp,
        capture_output=True,
    )
    made = subprocess.run(
        [sys.executable, "-m", "hub", "clients", "create", "Bench", "--json", "--config", str(config)],
        check=True,
        cwd=tmp,
        capture_output=True,
    )
    key = json.loads(made.stdout)["api_key"]
    # SQLite is one writer at a time: it runs as one process (API and workers), as deployed.
    split = kind != "sqlite"
    log = (tmp / f"{kind}.log").open("wb")
    procs = [run_cli(config, "serve", "--no-workers") if split else run_cli(config, "serve")]
    for _ in range(processes if split else 0):
        procs.append(run_cli(config, "worker", stderr=log))
    base = f"http://127.0.0.1:{port}"
    try:
        await wait_ready(base)
        auth = {"Authorization": f"Bearer {key}"}
        async with aiohttp.ClientSession() as session:
            template = await approved_template(session, base, auth)
        bodies = [batch_body(template, range(n, min(count_, n + 1000))) for n in range(0, count_, 1000)]
        while split and (tmp / f"{kind}.log").read_bytes().count(b"running") < processes:
            await asyncio.sleep(0.1)  # measure work, not the worker's start-up
        started = time.perf_counter()
        accepted = await post_all(base, auth, bodies, concurrency)
        accept_s = time.perf_counter() - started
        dispatched_s = final_s = None
        while time.perf_counter() - started < 600:
            sent = await count(db_url, "SELECT count(*) FROM sandbox_messages")
            if dispatched_s is None and sent >= accepted:
                dispatched_s = time.perf_counter() - started
            if await count(db_url, "SELECT count(*) FROM notifications WHERE final") >= accepted:
                final_s = time.perf_counter() - started
                break
            await asyncio.sleep(0.1)
        bare = await bare_rate(bodies, concurrency)
        return {
            "db": kind,
            "processes": f"API + {processes} worker" if split else "one",
            "n": accepted,
            "accepted/s": accepted / accept_s,
            "dispatched/s": accepted / dispatched_s if dispatched_s else 0.0,
            "final/s": accepted / final_s if final_s else 0.0,
            "bare aiohttp items/s": bare,
        }
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(30)
        log.close()


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--count", type=int, default=20000)
    parser.add_argument("--workers", default="1,2", help="worker processes to try on PostgreSQL, e.g. 1,2,4")
    parser.add_argument("--dispatchers", type=int, default=2, help="dispatchers per worker process")
    parser.add_argument("--concurrency", type=int, default=4, help="concurrent batch posts")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        if args.db in ("sqlite", "both"):
            rows.append(
                await measure(
                    "sqlite",
                    f"sqlite+aiosqlite:///{tmp / 'bench.db'}",
                    args.count,
                    1,
                    args.dispatchers,
                    args.concurrency,
                    tmp,
                )
            )
        for processes in (
            [int(n) for n in args.workers.split(",")] if args.db in ("postgresql", "both") else []
        ):
            async with scratch_database() as url:
                rows.append(
                    await measure(
                        "postgresql", url, args.count, processes, args.dispatchers, args.concurrency, tmp
                    )
                )
    cols = ["db", "processes", "n", "accepted/s", "dispatched/s", "final/s", "bare aiohttp items/s"]
    print_table(rows, cols)


if __name__ == "__main__":
    asyncio.run(main())
