"""`notifyhub demo`: a whole hub on the sandbox, one notification per sandbox customer, a summary.

It uses the real HTTP API on a free local port, the real dispatcher and the sandbox network,
so what it prints is what a client integrating against the sandbox would see.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from datetime import UTC, datetime
from typing import Any

import aiohttp
from aiohttp import web
from pydantic import SecretStr

from bots.segments import count_segments
from hub.api.app import create_app
from hub.bootstrap import build_hub
from hub.config import Config
from hub.security.accounts import create_client

ROUTE = [
    {"channel": "vk", "ttl": 15},
    {"channel": "ok", "ttl": 15},
    {"channel": "telegram", "ttl": 15},
    {"channel": "sms"},
]
TEXT = "Здравствуйте, #name#! Ваш заказ #order# доставлен. Оцените, пожалуйста, доставку от 1 до 5."
MESSENGERS = ("vk", "ok", "telegram")
DEADLINE = 50.0


def route_taken(legs: list[dict[str, Any]]) -> str:
    """A short path like `vk expired → sms delivered`, leaving out channels the customer is not on."""
    steps = []
    for leg in legs:
        if leg["status"] == "skipped" and leg["error"] in ("no_identity", "not_needed"):
            continue
        note = f" ({leg['error']})" if leg["status"] == "skipped" else ""
        steps.append(f"{leg['channel']} {leg['status']}{note}")
    return " → ".join(steps) or "-"


def reached_by(legs: list[dict[str, Any]]) -> str | None:
    """The channel whose leg ended the cascade successfully, if any."""
    reached = {"sent": ("sent", "delivered", "read"), "delivered": ("delivered", "read"), "read": ("read",)}
    for leg in legs:
        if leg["status"] in reached[leg["until"]]:
            return str(leg["channel"])
    return None


def summary(config: Config, rows: list[tuple[Any, dict[str, Any]]], elapsed: float) -> str:
    """The printed table and totals."""
    header = f"{'phone':<14} {'customer':<30} {'route taken':<58} {'final':<9} {'cost':>6}  reply"
    lines = [header, "-" * len(header)]
    via: dict[str, int] = {}
    for customer, view in rows:
        channel = reached_by(view["legs"])
        if channel:
            via["messenger" if channel in MESSENGERS else "sms"] = (
                via.get("messenger" if channel in MESSENGERS else "sms", 0) + 1
            )
        reply = view["replies"][0]["text"] if view["replies"] else ""
        lines.append(
            f"{customer.phone:<14} {customer.name[:30]:<30} {route_taken(view['legs'])[:58]:<58} "
            f"{view['status']:<9} {view['cost']:>6.2f}  {reply}"
        )
    total = sum(v["cost"] for _, v in rows)
    sms_price = config.cascade.prices["sms"]
    reached = via.get("messenger", 0) + via.get("sms", 0)
    # the same text by SMS: every reached customer, billed per segment (Cyrillic: 70/67 characters)
    sms_only = sum(count_segments(v["text"]) * sms_price for _, v in rows if reached_by(v["legs"]))
    lines += [
        "",
        f"notifications: {len(rows)}   reached: {reached} (messenger {via.get('messenger', 0)}, "
        f"SMS {via.get('sms', 0)})   not reached: {len(rows) - reached}",
        f"cost: {total:.2f} RUB   SMS-only would cost: {sms_only:.2f} RUB   saved: {sms_only - total:.2f} RUB"
        f" ({(1 - total / sms_only) * 100 if sms_only else 0:.0f}%)",
        f"finished in {elapsed:.1f} s",
    ]
    return "\n".join(lines)


async def fetch_views(session: aiohttp.ClientSession, base: str, ids: list[str]) -> list[dict[str, Any]]:
    """The API's view of each notification, in order."""
    views = []
    for nid in ids:
        async with session.get(f"{base}/v1/notifications/{nid}") as resp:
            views.append(await resp.json())
    return views


def _done(views: list[dict[str, Any]], expect_reply: list[bool]) -> bool:
    return all(
        v["final"] and (v["replies"] or not want or v["status"] in ("failed", "skipped"))
        for v, want in zip(views, expect_reply, strict=True)
    )


async def run_demo(config: Config) -> None:
    """Run the whole demo and print the summary."""
    admin_token = secrets.token_urlsafe(16)
    config = config.model_copy(update={"admin_token": SecretStr(admin_token)})
    customers = list(config.sandbox.customers)
    if not config.sandbox.enabled or not customers:
        raise SystemExit(
            "error: the demo needs the sandbox (sandbox.enabled and sandbox.customers in the config)"
        )
    started = time.monotonic()
    hub = build_hub(config)
    app = create_app(hub, run_workers=True)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    base = f"http://127.0.0.1:{port}"
    try:
        created = await create_client(
            hub.uow(), f"Demo shop {datetime.now(UTC):%Y-%m-%d %H:%M:%S.%f}", hub.clock.now()
        )
        auth = {"Authorization": f"Bearer {created.api_key}"}
        async with aiohttp.ClientSession(headers=auth) as session:
            body = {"name": "delivery survey", "text": TEXT, "category": "service", "context": "survey"}
            async with session.post(f"{base}/v1/templates", json=body) as resp:
                template = await resp.json()
            admin = {"Authorization": f"Bearer {admin_token}"}
            async with session.post(
                f"{base}/v1/admin/templates/{template['id']}/decision",
                json={"status": "approved"},
                headers=admin,
            ) as resp:
                resp.raise_for_status()
            now = datetime.now(UTC).isoformat()
            items = [
                {
                    "to": {"phone": c.phone},
                    "template_id": template["id"],
                    "params": {"name": "Анна", "order": f"{77031 + n}"},
                    "route": ROUTE,
                    "action_at": now,
                    "idempotency_key": f"demo-{n}",
                }
                for n, c in enumerate(customers)
            ]
            async with session.post(f"{base}/v1/notify/batch", json={"items": items}) as resp:
                batch = await resp.json()
            ids = [r["id"] for r in batch["results"]]
            print(
                f"sent {len(ids)} notifications to the sandbox customers; waiting for the cascade "
                "(messenger TTL 15 s)...",
                flush=True,
            )
            expect = [bool(c.replies) for c in customers]
            views = await fetch_views(session, base, ids)
            while not _done(views, expect) and time.monotonic() - started < DEADLINE:
                await asyncio.sleep(0.5)
                views = await fetch_views(session, base, ids)
        print(summary(config, list(zip(customers, views, strict=True)), time.monotonic() - started))
    finally:
        await runner.cleanup()
        await hub.aclose()
