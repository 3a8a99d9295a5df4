"""The API process SIGKILLed in the middle of a batch request: the client's retry makes it whole, once.

The kill is proven to land mid-request: the client holds back the body's last byte, the server's
/metrics shows the batch being handled, and only then does the SIGKILL go; the client never gets
an answer and nothing of the batch is stored until the retry.
"""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import func, select

from benchmarks.live import free_port, wait_ready
from hub.bootstrap import Hub, build_hub
from storage.models import Notification
from tests.conftest import make_config
from tests.faults.accounting import batch_items, eventually, hub_process
from tests.faults.conftest import RecordFault
from tests.support.scenario import approved_template, new_client

COUNT = 1000


def _api(db_url: str, port: int, tmp: Path) -> subprocess.Popen[bytes]:
    return hub_process(["serve", "--no-workers"], db_url, tmp / "serve.log", server__port=str(port))


async def _held_back(body: bytes, release: asyncio.Event) -> AsyncIterator[bytes]:
    """The body but its last byte, which follows only on `release`: the server waits mid-request."""
    yield body[:-1]
    await release.wait()
    yield body[-1:]


async def _handling(base: str) -> bool:
    """Whether the server is handling a request besides the /metrics one asking."""
    async with aiohttp.ClientSession() as session, session.get(f"{base}/metrics") as resp:
        text = await resp.text()
    gauge = next(line for line in text.splitlines() if line.startswith("notifyhub_http_requests_in_flight "))
    return float(gauge.split()[1]) > 1


async def _stored(hub: Hub) -> tuple[int, int]:
    """Notifications stored, and distinct idempotency keys among them."""
    async with hub.uow() as uow:
        session = uow.notifications._session
        stored = (await session.execute(select(func.count()).select_from(Notification))).scalar_one()
        keys = (
            await session.execute(select(func.count(func.distinct(Notification.idempotency_key))))
        ).scalar_one()
    return int(stored), int(keys)


async def test_killed_api_loses_nothing_and_a_retry_adds_nothing_twice(
    db_url: str, tmp_path: Path, record_fault: RecordFault
) -> None:
    hub = build_hub(make_config(db_url))
    try:
        created, client = await new_client(hub)
        template = await approved_template(hub, client.id)
        items = batch_items(template.id, COUNT)
        body = json.dumps({"items": items})
        headers = {"Authorization": f"Bearer {created.api_key}", "Content-Type": "application/json"}
        port = free_port()
        base = f"http://127.0.0.1:{port}"

        server = _api(db_url, port, tmp_path)
        await wait_ready(base, 30)
        release = asyncio.Event()
        async with aiohttp.ClientSession(headers=headers) as session:
            url = f"{base}/v1/notify/batch"
            request = asyncio.create_task(session.post(url, data=_held_back(body.encode(), release)))
            await eventually(lambda: _handling(base), "the server took the batch request", 60)
            server.send_signal(signal.SIGKILL)
            server.wait(10)
            release.set()
            with pytest.raises(aiohttp.ClientError):  # no answer: the connection died with the server
                (await request).release()
        assert await _stored(hub) == (0, 0)  # killed mid-request: nothing of the batch half-stored
        server = _api(db_url, port, tmp_path)
        try:
            await wait_ready(base, 30)
            async with (
                aiohttp.ClientSession(headers=headers) as session,
                session.post(f"{base}/v1/notify/batch", data=body) as resp,
            ):
                result = await resp.json()
        finally:
            server.terminate()
            server.wait(20)
        assert resp.status == 202 and result["accepted"] == COUNT
        stored, keys = await _stored(hub)
        assert stored == keys == COUNT
        record_fault(
            "API SIGKILL mid-batch, client retries",
            f"1 batch request ({COUNT} items)",
            f"{keys}/{COUNT} stored once",
            COUNT - keys,
            stored - keys,
        )
    finally:
        await hub.aclose()
