"""What every fault test checks afterwards, read from the rows: nothing lost, nothing sent twice.

Also the work the tests put in flight (`accept_for_sandbox`, `batch_items`), how they start real
hub processes against the test database (`hub_process`) and wait for a condition another process
brings about (`eventually`).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from hub.bootstrap import Hub
from hub.delivery.notify import Accepted
from storage.models import InboundMessage, Notification, NotificationEvent, SandboxMessage, WebhookDelivery
from tests.conftest import ROOT
from tests.support.scenario import approved_template, new_client, notify_item

#: Sandbox customers whose paths differ: VK delivers (…001), SMS delivers (…002), SMS fails (…009).
SANDBOX_PHONES = ("+79990000001", "+79990000002", "+79990000009")
SANDBOX_ROUTE = [{"channel": "vk", "ttl": 15}, {"channel": "sms"}]


async def accept_for_sandbox(hub: Hub, total: int) -> set[str]:
    """`total` accepted notifications, a third to each of `SANDBOX_PHONES`; their ids."""
    _, client = await new_client(hub)
    template = await approved_template(hub, client.id)
    items = [
        notify_item(template.id, SANDBOX_PHONES[n % 3], route=SANDBOX_ROUTE, idempotency_key=f"k{n}")
        for n in range(total)
    ]
    accepted = await hub.acceptor.accept(hub.uow(), client, items, hub.clock.now())
    ids = {o.id for o in accepted if isinstance(o, Accepted)}
    assert len(ids) == total
    return ids


def batch_items(template_id: str, count: int) -> list[dict[str, Any]]:
    """Items of a `/v1/notify/batch` request, each to its own new phone number."""
    now = datetime.now(UTC).isoformat()
    return [
        {
            "to": {"phone": f"+7916111{n:04d}"},
            "template_id": template_id,
            "idempotency_key": f"k{n}",
            "params": {"name": "Анна", "order": str(n)},
            "action_at": now,
        }
        for n in range(count)
    ]


def hub_process(args: list[str], db_url: str, log: Path, **env: str) -> subprocess.Popen[bytes]:
    """`notifyhub ARGS` on the test database (config.yaml otherwise), logging to `log`."""
    environ = dict(os.environ, NOTIFYHUB_DATABASE__URL=db_url, NOTIFYHUB_LOGGING__LEVEL="WARNING")
    environ.update({f"NOTIFYHUB_{key.upper()}": value for key, value in env.items()})
    cmd = [sys.executable, "-m", "hub", *args, "--config", str(ROOT / "config.yaml")]
    with log.open("ab") as out:
        return subprocess.Popen(cmd, env=environ, stdout=out, stderr=out, cwd=ROOT)


def reap(*procs: subprocess.Popen[bytes] | None) -> None:
    """Kill whatever a failed test left running."""
    for proc in procs:
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait(10)


async def eventually(check: Callable[[], Awaitable[bool]], what: str, seconds: float = 90) -> None:
    """Poll until `check()` is true; fail naming `what` after `seconds` (a bound, not a measurement)."""
    deadline = time.monotonic() + seconds
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"never happened: {what}")
        await asyncio.sleep(0.05)


async def rows(hub: Hub, stmt: Any) -> list[Any]:
    """All rows of a statement, on its own short transaction."""
    async with hub.uow() as uow:
        return list((await uow.notifications._session.execute(stmt)).all())


async def count(hub: Hub, stmt: Any) -> int:
    """A scalar count."""
    async with hub.uow() as uow:
        return int((await uow.notifications._session.execute(stmt)).scalar_one())


async def final_count(hub: Hub) -> int:
    """Notifications in their final state."""
    return await count(hub, select(func.count()).select_from(Notification).where(Notification.final))


async def at_least(hub: Hub, wanted: int, stmt: Any = None) -> bool:
    """True once a count (by default, of final notifications) reaches `wanted`."""
    return (await count(hub, stmt) if stmt is not None else await final_count(hub)) >= wanted


def twice(counter: Counter[Any]) -> int:
    """How many keys were counted more than once."""
    return sum(1 for n in counter.values() if n > 1)


@dataclass(frozen=True)
class Outbound:
    """Accepted notifications after a fault: final exactly once, or lost; legs sent twice."""

    accepted: int
    final_once: int
    lost: int
    sent_twice: int

    def accounted(self) -> str:
        """`final/accepted` for the summary."""
        return f"{self.final_once}/{self.accepted} final once"


async def outbound(hub: Hub, ids: Iterable[str]) -> Outbound:
    """Each notification's `final_*` events, each leg's `leg_sent` events and sandbox receipts."""
    wanted = set(ids)
    finals = Counter(
        nid
        for (nid,) in await rows(
            hub, select(NotificationEvent.notification_id).where(NotificationEvent.kind.like("final_%"))
        )
        if nid in wanted
    )
    sends = Counter(
        (nid, leg)
        for nid, leg in await rows(
            hub,
            select(NotificationEvent.notification_id, NotificationEvent.leg).where(
                NotificationEvent.kind == "leg_sent"
            ),
        )
    )
    received = Counter(key for (key,) in await rows(hub, select(SandboxMessage.leg_key)))
    once = sum(1 for nid in wanted if finals[nid] == 1)
    return Outbound(
        len(wanted), once, len(wanted - set(finals)), twice(finals) + twice(sends) + twice(received)
    )


@dataclass(frozen=True)
class Inbound:
    """Replies after a fault: stored once each, and their webhook events delivered once each."""

    replies: int
    stored_once: int
    lost: int
    stored_twice: int
    webhooks_delivered: int
    webhooks_pending: int


async def inbound(hub: Hub, external_ids: Iterable[str]) -> Inbound:
    """Count stored customer messages by platform id, and webhook deliveries by status."""
    wanted = set(external_ids)
    stored = Counter(
        eid
        for (eid,) in await rows(
            hub, select(InboundMessage.external_id).where(InboundMessage.direction == "in")
        )
        if eid in wanted
    )
    by_status = Counter(s for (s,) in await rows(hub, select(WebhookDelivery.status)))
    return Inbound(
        replies=len(wanted),
        stored_once=sum(1 for e in wanted if stored[e] == 1),
        lost=len(wanted - set(stored)),
        stored_twice=twice(stored),
        webhooks_delivered=by_status["delivered"],
        webhooks_pending=by_status["pending"] + by_status["dead"],
    )
