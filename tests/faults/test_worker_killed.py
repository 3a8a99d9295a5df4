"""A worker SIGKILLed mid-batch: every accepted notification still ends exactly once, none
sent twice. Unlike SIGTERM nothing is handed back: the second worker takes the rows when their
short lease runs out, and re-sends legs found `sending` under the same leg key.
"""

from __future__ import annotations

import signal
from pathlib import Path

from sqlalchemy import func, select

from hub.bootstrap import build_hub
from storage.models import Notification, SandboxMessage
from tests.conftest import make_config
from tests.faults.accounting import (
    accept_for_sandbox,
    at_least,
    eventually,
    final_count,
    hub_process,
    outbound,
    reap,
    rows,
)
from tests.faults.conftest import RecordFault

TOTAL = 300
SHORT_LEASE = {"dispatch__batch_size": "10", "dispatch__lease_seconds": "2", "dispatch__workers": "2"}


async def test_killed_worker_loses_nothing_and_sends_nothing_twice(
    db_url: str, tmp_path: Path, record_fault: RecordFault
) -> None:
    hub = build_hub(make_config(db_url))
    log = tmp_path / "worker.log"
    first = second = None
    try:
        ids = await accept_for_sandbox(hub, TOTAL)

        first = hub_process(["worker"], db_url, log, **SHORT_LEASE)
        sent = select(func.count()).select_from(SandboxMessage)
        await eventually(lambda: at_least(hub, TOTAL // 4, sent), "the first worker sent a quarter")
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        in_flight = TOTAL - await final_count(hub)
        assert in_flight > 0, "the worker finished before it was killed: nothing was tested"

        second = hub_process(["worker"], db_url, log, **SHORT_LEASE)
        await eventually(lambda: at_least(hub, TOTAL), "the second worker finished", 120)
        second.send_signal(signal.SIGTERM)
        assert second.wait(30) == 0, log.read_text()

        result = await outbound(hub, ids)
        assert (result.final_once, result.lost, result.sent_twice) == (TOTAL, 0, 0), log.read_text()
        statuses = [s for (s,) in await rows(hub, select(Notification.status))]
        # each phone's documented path: VK delivers (001), SMS delivers (002), SMS fails (009)
        assert statuses.count("failed") == TOTAL // 3
        assert statuses.count("delivered") + statuses.count("read") == 2 * TOTAL // 3
        record_fault(
            "worker SIGKILL mid-batch",
            f"{in_flight} notifications not final",
            result.accounted(),
            result.lost,
            result.sent_twice,
        )
    finally:
        reap(first, second)
        await hub.aclose()
