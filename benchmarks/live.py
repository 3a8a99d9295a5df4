"""Helpers for runs against a real `notifyhub serve` process: a free port, and waiting until it answers."""

from __future__ import annotations

import asyncio
import socket

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
