"""PostgreSQL restarted while a worker is mid-batch: the worker recovers; nothing lost, nothing sent twice."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from hub.bootstrap import build_hub
from storage.models import Notification, SandboxMessage
from tests.conftest import make_config
from tests.faults.accounting import accept_for_sandbox, hub_process, outbound
from tests.faults.conftest import RecordFault

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


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
async def test_postgres_restart_mid_batch_loses_nothing(
    db_url: str, tmp_path: Path, record_fault: RecordFault
) -> None:
    hub = build_hub(make_config(db_url))
    log = tmp_path / "worker.log"
    worker = None
    try:
        ids = await accept_for_sandbox(hub, TOTAL)
        # each send takes 0.1 s: the batch is still under way when the restart comes, however fast the machine
        slow = {"dispatch__batch_size": "10", "dispatch__lease_seconds": "2", "sandbox__send_latency": "0.1"}
        worker = hub_process(["worker"], db_url, log, **slow)
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
        result = await outbound(hub, ids)
        assert (result.final_once, result.lost, result.sent_twice) == (TOTAL, 0, 0), log.read_text()
        record_fault(
            "PostgreSQL restart mid-batch",
            f"{in_flight} notifications not final",
            result.accounted(),
            result.lost,
            result.sent_twice,
        )
    finally:
        if worker is not None:
            worker.send_signal(signal.SIGTERM)
            worker.wait(30)
        await hub.aclose()
