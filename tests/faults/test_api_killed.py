"""The API process SIGKILLed in the middle of a batch request: the client's retry makes it whole, once."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import subprocess
from pathlib import Path

import aiohttp
from sqlalchemy import func, select

from benchmarks.live import free_port, wait_ready
from hub.bootstrap import build_hub
from storage.models import Notification
from tests.conftest import make_config
from tests.faults.accounting import batch_items, hub_process
from tests.faults.conftest import RecordFault
from tests.support.scenario import approved_template, new_client

COUNT = 1000


def _api(db_url: str, port: int, tmp: Path) -> subprocess.Popen[bytes]:
    return hub_process(["serve", "--no-workers"], db_url, tmp / "serve.log", server__port=str(port))


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
        async with aiohttp.ClientSession(headers=headers) as session:
            request = asyncio.create_task(session.post(f"{base}/v1/notify/batch", data=body))
            await asyncio.sleep(0.15)  # mid-request: parsing, validating or committing
            server.send_signal(signal.SIGKILL)
            server.wait(10)
            with contextlib.suppress(aiohttp.ClientError):  # the connection died with the server
                (await request).release()
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
        async with hub.uow() as uow:
            session_ = uow.notifications._session
            stored = (await session_.execute(select(func.count()).select_from(Notification))).scalar_one()
            keys = (
                await session_.execute(select(func.count(func.distinct(Notification.idempotency_key))))
            ).scalar_one()
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
