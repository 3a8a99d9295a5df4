"""A worker killed mid-batch: every accepted notification still ends exactly once, none sent twice."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from sqlalchemy import func, select

from hub.bootstrap import build_hub
from storage.models import Notification, NotificationEvent, SandboxMessage
from tests.conftest import ROOT, make_config
from tests.hub.scenario import approved_template, new_client, notify_item

PHONES = ["+79990000001", "+79990000002", "+79990000009"]
ROUTE = [{"channel": "vk", "ttl": 15}, {"channel": "sms"}]
TOTAL = 300


def _worker(db_url: str, log: Path) -> subprocess.Popen[bytes]:
    env = dict(os.environ)
    env.update(
        NOTIFYHUB_DATABASE__URL=db_url,
        NOTIFYHUB_DISPATCH__BATCH_SIZE="10",
        NOTIFYHUB_DISPATCH__LEASE_SECONDS="2",
        NOTIFYHUB_DISPATCH__WORKERS="2",
        NOTIFYHUB_LOGGING__LEVEL="WARNING",
    )
    with log.open("ab") as out:
        cmd = [sys.executable, "-m", "hub", "worker", "--config", str(ROOT / "config.yaml")]
        return subprocess.Popen(cmd, env=env, stdout=out, stderr=out, cwd=log.parent)


async def _scalar(hub: object, stmt: object) -> int:
    async with hub.uow() as uow:  # type: ignore[attr-defined]
        return int((await uow.notifications._session.execute(stmt)).scalar_one())


async def test_killed_worker_loses_nothing_and_sends_nothing_twice(db_url: str, tmp_path: Path) -> None:
    hub = build_hub(make_config(db_url))
    try:
        _, client = await new_client(hub)
        template = await approved_template(hub, client.id)
        items = [
            notify_item(template.id, PHONES[n % 3], route=ROUTE, idempotency_key=f"k{n}")
            for n in range(TOTAL)
        ]
        outcomes = await hub.acceptor.accept(hub.uow(), client, list(items), hub.clock.now())
        ids = {o.id for o in outcomes}  # type: ignore[union-attr]
        assert len(ids) == TOTAL

        log = tmp_path / "worker.log"
        first = _worker(db_url, log)
        sent = select(func.count()).select_from(SandboxMessage)
        deadline = time.monotonic() + 60
        while await _scalar(hub, sent) < TOTAL // 4 and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        in_flight = TOTAL - await _scalar(
            hub, select(func.count()).select_from(Notification).where(Notification.final)
        )
        assert in_flight > 0, "the worker finished before it was killed: nothing was tested"

        second = _worker(db_url, log)
        final = select(func.count()).select_from(Notification).where(Notification.final)
        deadline = time.monotonic() + 120
        while await _scalar(hub, final) < TOTAL and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
        second.send_signal(signal.SIGTERM)
        assert second.wait(20) == 0, log.read_text()

        assert await _scalar(hub, final) == TOTAL, log.read_text()
        async with hub.uow() as uow:
            session = uow.notifications._session
            finals = Counter(
                (
                    await session.execute(
                        select(NotificationEvent.notification_id).where(
                            NotificationEvent.kind.like("final_%")
                        )
                    )
                ).scalars()
            )
            sent_events = Counter(
                (
                    await session.execute(
                        select(NotificationEvent.notification_id, NotificationEvent.leg).where(
                            NotificationEvent.kind.in_(["leg_sent", "leg_delivered_at_once"])
                        )
                    )
                ).all()
            )
            received = Counter((await session.execute(select(SandboxMessage.leg_key))).scalars())
            statuses = Counter((await session.execute(select(Notification.status))).scalars())
        assert set(finals) == ids and set(finals.values()) == {1}
        assert max(sent_events.values()) == 1
        assert max(received.values()) == 1  # the customer got each leg's message once
        # each phone's documented path: VK delivers (001), SMS delivers (002), SMS fails (009)
        assert statuses["failed"] == TOTAL // 3
        assert statuses["delivered"] + statuses["read"] == 2 * TOTAL // 3
    finally:
        await hub.aclose()
