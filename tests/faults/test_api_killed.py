"""The API process SIGKILLed in the middle of a batch request: the client's retry makes it whole, once."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
from sqlalchemy import func, select

from benchmarks.live import free_port, wait_ready
from hub.bootstrap import build_hub
from storage.models import Notification
from tests.conftest import ROOT, make_config
from tests.hub.scenario import approved_template, new_client

COUNT = 1000


def _serve(db_url: str, port: int, cwd: Path) -> subprocess.Popen[bytes]:
    env = dict(os.environ, NOTIFYHUB_DATABASE__URL=db_url, NOTIFYHUB_SERVER__PORT=str(port))
    env["NOTIFYHUB_LOGGING__LEVEL"] = "WARNING"
    cmd = [sys.executable, "-m", "hub", "serve", "--no-workers", "--config", str(ROOT / "config.yaml")]
    with (cwd / "serve.log").open("ab") as log:
        return subprocess.Popen(cmd, env=env, stdout=log, stderr=log, cwd=cwd)


async def test_killed_api_loses_nothing_and_a_retry_adds_nothing_twice(db_url: str, tmp_path: Path) -> None:
    hub = build_hub(make_config(db_url))
    try:
        created, client = await new_client(hub)
        template = await approved_template(hub, client.id)
        now = datetime.now(UTC).isoformat()
        items = [
            {
                "to": {"phone": f"+7916111{n:04d}"},
                "template_id": template.id,
                "idempotency_key": f"k{n}",
                "params": {"name": "Анна", "order": str(n)},
                "action_at": now,
            }
            for n in range(COUNT)
        ]
        body = json.dumps({"items": items})
        headers = {"Authorization": f"Bearer {created.api_key}", "Content-Type": "application/json"}
        port = free_port()
        base = f"http://127.0.0.1:{port}"

        server = _serve(db_url, port, tmp_path)
        await wait_ready(base, 30)
        async with aiohttp.ClientSession(headers=headers) as session:
            request = asyncio.create_task(session.post(f"{base}/v1/notify/batch", data=body))
            await asyncio.sleep(0.15)  # mid-request: parsing, validating or committing
            server.send_signal(signal.SIGKILL)
            server.wait(10)
            with contextlib.suppress(aiohttp.ClientError):  # the connection died with the server
                (await request).release()
        server = _serve(db_url, port, tmp_path)
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
    finally:
        await hub.aclose()
