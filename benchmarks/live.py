"""Helpers for benchmark runs: a free port, waiting for the hub, CPU time, a scratch database, the table."""

from __future__ import annotations

import asyncio
import base64
import os
import socket
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg

#: The PostgreSQL server benchmarks make their scratch databases on (as the tests do).
PG_ADMIN = os.environ.get("NOTIFYHUB_TEST_PG_URL", "postgresql://127.0.0.1:5432/test")


def free_port() -> int:
    """A free local TCP port."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def wait_ready(base: str, seconds: float = 60.0) -> None:
    """Return once `base`/healthz answers 200; fail after `seconds`."""
    async with aiohttp.ClientSession() as session:
        for _ in range(int(seconds * 10)):
            try:
                async with session.get(f"{base}/healthz") as resp:
                    if resp.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError(f"the API at {base} did not start")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (Linux /proc), to report CPU per item."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def new_secret_key() -> str:
    """A fresh `secret_key` for a benchmark's hub (stored tokens are encrypted; PostgreSQL needs one)."""
    return base64.urlsafe_b64encode(os.urandom(32)).decode()


async def _admin(sql: str) -> None:
    admin = await asyncpg.connect(PG_ADMIN)
    try:
        await admin.execute(sql)
    finally:
        await admin.close()


@asynccontextmanager
async def scratch_database(prefix: str = "notifyhub_bench") -> AsyncIterator[str]:
    """A fresh PostgreSQL database for one run (its SQLAlchemy URL), dropped afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    await _admin(f'CREATE DATABASE "{name}"')
    try:
        yield PG_ADMIN.rpartition("/")[0].replace("postgresql://", "postgresql+asyncpg://") + f"/{name}"
    finally:
        await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def print_table(rows: Sequence[dict[str, Any]], cols: Sequence[str], decimals: int = 0) -> None:
    """The results as a Markdown table (floats with thousands separators), as the README shows them."""
    print("| " + " | ".join(cols) + " |")
    print("|" + "|".join("---" for _ in cols) + "|")
    for row in rows:
        cells = (f"{row[c]:,.{decimals}f}" if isinstance(row[c], float) else str(row[c]) for c in cols)
        print("| " + " | ".join(cells) + " |")
