"""PostgreSQL restarted while a worker is mid-batch: the worker recovers; nothing lost, nothing sent twice."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from hub.bootstrap import build_hub
from storage.models import Notification, NotificationEvent, SandboxMessage
from tests.conftest import ROOT, make_config
from tests.hub.scenario import approved_template, new_client, notify_item

PHONES = ["+79990000001", "+79990000002", "+79990000009"]
ROUTE = [{"channel": "vk", "ttl": 15}, {"channel": "sms"}]
TOTAL = 300


def _restart_postgres() -> None:
    if not shutil.which("pg_ctlcluster") or not os.path.isdir("/etc/postgresql"):
        if os.environ.get("CI") == "true":
            pytest.fail("CI needs the local PostgreSQL cluster (pg_ctlcluster) for this fault")
        pytest.skip("no local PostgreSQL cluster to restart here")
    version = sorted(os.listdir("/etc/postgresql"))[-1]
    cmd = ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart", "-m", "fast"]
    subprocess.run(cmd, check=True, capture_output=True)


async def _count(hub: Any, stmt: Any) -> int:
    for _ in range(150):  # the server may still be starting again
        try:
            async with hub.uow() as uow:
                return int((await uow.notifications._session.execute(stmt)).scalar_one())
        except Exception:
            await asyncio.sleep(0.2)
    raise AssertionError("PostgreSQL did not come back")


def _worker(db_url: str, log: Path) -> subprocess.Popen[bytes]:
    env = dict(os.environ, NOTIFYHUB_DATABASE__URL=db_url, NOTIFYHUB_DISPATCH__BATCH_SIZE="10")
    env.update(NOTIFYHUB_DISPATCH__LEASE_SECONDS="2", NOTIFYHUB_LOGGING__LEVEL="WARNING")
    cmd = [sys.executable, "-m", "hub", "worker", "--config", str(ROOT / "config.yaml")]
    with log.open("ab") as out:
        return subprocess.Popen(cmd, env=env, stdout=out, stderr=out, cwd=log.parent)


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
async def test_postgres_restart_mid_batch_loses_nothing(db_url: str, tmp_path: Path) -> None:
    hub = build_hub(make_config(db_url))
    log = tmp_path / "worker.log"
    worker = None
    try:
        _, client = await new_client(hub)
        template = await approved_template(hub, client.id)
        items = [
            notify_item(template.id, PHONES[n % 3], route=ROUTE, idempotency_key=f"k{n}")
            for n in range(TOTAL)
        ]
        await hub.acceptor.accept(hub.uow(), client, list(items), hub.clock.now())
        worker = _worker(db_url, log)
        sent = select(func.count()).select_from(SandboxMessage)
        deadline = time.monotonic() + 60
        while await _count(hub, sent) < TOTAL // 4 and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        _restart_postgres()
        final = select(func.count()).select_from(Notification).where(Notification.final)
        in_flight = TOTAL - await _count(hub, final)
        assert in_flight > 0, "the worker finished before the restart: nothing was tested"
        deadline = time.monotonic() + 120
        while await _count(hub, final) < TOTAL and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
        assert await _count(hub, final) == TOTAL, log.read_text()
        async with hub.uow() as uow:
            session = uow.notifications._session
            kinds = NotificationEvent.kind.like("final_%")
            finals = Counter(
                (await session.execute(select(NotificationEvent.notification_id).where(kinds))).scalars()
            )
            received = Counter((await session.execute(select(SandboxMessage.leg_key))).scalars())
        assert len(finals) == TOTAL and set(finals.values()) == {1}
        assert max(received.values()) == 1
    finally:
        if worker is not None:
            worker.send_signal(signal.SIGTERM)
            worker.wait(30)
        await hub.aclose()
