"""Helpers for runs against a real `notifyhub serve`: a free port, waiting until it answers, CPU time."""

from __future__ import annotations

import asyncio
import base64
import os
import socket
from pathlib import Path

import aiohttp


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
