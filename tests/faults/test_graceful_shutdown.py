"""SIGTERM: a worker finishes the sends it started and hands back the rest at once; `serve` answers
the request under way. Both exit 0; a second worker finishes the work; nothing is lost or sent twice.
"""

from __future__ import annotations

import asyncio
import json
import signal
from pathlib import Path

import aiohttp
from sqlalchemy import func, select

from benchmarks.live import free_port, wait_ready
from hub.bootstrap import Hub, build_hub
from storage.models import Leg, Notification, OutboxItem, SandboxMessage
from tests.conftest import make_config
from tests.faults.accounting import (
    accept_for_sandbox,
    at_least,
    batch_items,
    count,
    eventually,
    hub_process,
    outbound,
    reap,
    rows,
)
from tests.faults.conftest import RecordFault
from tests.support.scenario import approved_template, new_client

TOTAL = 300
#: A lease no test waits out: a row the stopped worker kept would never be taken by the second.
LONG_LEASE = {"dispatch__lease_seconds": "3600", "dispatch__workers": "1"}
#: Rounds of 150 sends, 10 at a time, 0.2 s each: a SIGTERM lands with most of a round not started.
SLOW = {
    "dispatch__batch_size": "150",
    "dispatch__send_concurrency": "10",
    "dispatch__shutdown_grace": "5",
    "sandbox__send_latency": "0.2",
}


async def _legs_sending(hub: Hub) -> tuple[set[str], set[str]]:
    """Keys of legs still `sending`: those the platform never received, and those it did."""
    legs = select(Leg.notification_id, Leg.idx).where(Leg.status == "sending")
    sending = {f"{nid}.{idx}" for nid, idx in await rows(hub, legs)}
    received = {key for (key,) in await rows(hub, select(SandboxMessage.leg_key))}
    return sending - received, sending & received


async def test_sigterm_worker_finishes_started_sends_and_hands_back_the_rest(
    db_url: str, tmp_path: Path, record_fault: RecordFault
) -> None:
    hub = build_hub(make_config(db_url))
    log = tmp_path / "worker.log"
    first = second = None
    try:
        ids = await accept_for_sandbox(hub, TOTAL)

        first = hub_process(["worker"], db_url, log, **LONG_LEASE, **SLOW)
        received = select(func.count()).select_from(SandboxMessage)
        await eventually(lambda: at_least(hub, 20, received), "the first worker's sends began")
        first.send_signal(signal.SIGTERM)
        assert first.wait(60) == 0, log.read_text()

        handed_back, unrecorded = await _legs_sending(hub)
        assert handed_back, "the round ended before the signal: nothing was in flight"
        assert not unrecorded, "a send the platform took was left unrecorded"
        held = select(func.count()).select_from(OutboxItem).where(OutboxItem.claimed_until.is_not(None))
        assert await count(hub, held) == 0  # every claim released, none left to a lease
        done_first = await count(hub, received)

        second = hub_process(["worker"], db_url, log, **LONG_LEASE)
        await eventually(lambda: at_least(hub, TOTAL), "the second worker finished")
        second.send_signal(signal.SIGTERM)
        assert second.wait(60) == 0, log.read_text()

        taken, _ = await _legs_sending(hub)
        received_keys = {k for (k,) in await rows(hub, select(SandboxMessage.leg_key))}
        assert not taken and handed_back <= received_keys  # the second worker sent every one
        result = await outbound(hub, ids)
        assert (result.final_once, result.lost, result.sent_twice) == (TOTAL, 0, 0), log.read_text()
        statuses = [s for (s,) in await rows(hub, select(Notification.status))]
        assert statuses.count("failed") == TOTAL // 3  # +79990000009: SMS fails, as documented
        record_fault(
            "worker SIGTERM mid-batch",
            f"round of 150 sends: {done_first} done, {len(handed_back)} handed back",
            result.accounted(),
            result.lost,
            result.sent_twice,
        )
    finally:
        reap(first, second)
        await hub.aclose()


async def _handling_another(base: str) -> bool:
    """True while a request besides this /metrics one is being handled."""
    async with aiohttp.ClientSession() as session, session.get(f"{base}/metrics") as resp:
        text = await resp.text()
    line = next(x for x in text.splitlines() if x.startswith("notifyhub_http_requests_in_flight "))
    return float(line.split()[1]) > 1


async def _refused(port: int) -> bool:
    try:
        _, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        return True
    writer.close()
    return False


async def test_sigterm_serve_answers_the_request_in_flight(
    db_url: str, tmp_path: Path, record_fault: RecordFault
) -> None:
    hub = build_hub(make_config(db_url))
    try:
        created, client = await new_client(hub)
        template = await approved_template(hub, client.id)
        items = batch_items(template.id, 500)
        body = json.dumps({"items": items}).encode()
        server = None
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        log = tmp_path / "serve.log"
        server = hub_process(["serve"], db_url, log, server__port=str(port), dispatch__workers="1")
        await wait_ready(base, 60)
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        head = (
            f"POST /v1/notify/batch HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Authorization: Bearer {created.api_key}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        )
        writer.write(head.encode() + body[: len(body) // 2])  # the handler starts, waits for the rest
        await writer.drain()
        await eventually(lambda: _handling_another(base), "the batch request is being handled")
        server.send_signal(signal.SIGTERM)
        await eventually(lambda: _refused(port), "the listener closed")
        writer.write(body[len(body) // 2 :])
        await writer.drain()
        answer = await reader.read()
        writer.close()
        status_line, _, rest = answer.partition(b"\r\n")
        assert status_line.split()[1] == b"202", answer[:500]
        assert json.loads(rest.partition(b"\r\n\r\n")[2])["accepted"] == len(items)
        assert server.wait(60) == 0, log.read_text()
        stored = await count(hub, select(func.count()).select_from(Notification))
        assert stored == len(items)
        record_fault(
            "API SIGTERM mid-request",
            "1 batch request (500 items) half received",
            f"{stored}/{len(items)} committed, answered 202",
            len(items) - stored,
        )
    finally:
        reap(server)
        await hub.aclose()
