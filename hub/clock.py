"""Time as a dependency, so cascade timing can be driven by tests without waiting."""

from __future__ import annotations

import asyncio
import time
from typing import Protocol


class Clock(Protocol):
    """Wall-clock seconds and sleeping."""

    def now(self) -> float:
        """Current UNIX time in seconds."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait (or pretend to)."""
        ...


class SystemClock:
    """The real clock."""

    def now(self) -> float:
        """Current UNIX time in seconds."""
        return time.time()

    async def sleep(self, seconds: float) -> None:
        """Really wait."""
        await asyncio.sleep(seconds)


async def wait_any(timeout: float, *events: asyncio.Event) -> bool:
    """Wait until one of `events` is set or `timeout` seconds pass; True when an event was set."""
    waits = [asyncio.ensure_future(event.wait()) for event in events]
    try:
        done, _ = await asyncio.wait(waits, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waits:
            waiter.cancel()
        await asyncio.gather(*waits, return_exceptions=True)
    return bool(done)


def iso(ts: float | None) -> str | None:
    """UNIX seconds as an ISO 8601 UTC string for API answers."""
    if ts is None:
        return None
    from datetime import UTC, datetime

    return datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")
