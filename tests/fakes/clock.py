"""A clock tests move by hand, so TTLs and retries happen without waiting."""

from __future__ import annotations

import asyncio
import time


class FakeClock:
    """`hub.clock.Clock` whose time only moves when told (or when something sleeps)."""

    def __init__(self, start: float | None = None) -> None:
        self.t = time.time() if start is None else start

    def now(self) -> float:
        """The pretend time."""
        return self.t

    def advance(self, seconds: float) -> None:
        """Move time forward."""
        self.t += seconds

    async def sleep(self, seconds: float) -> None:
        """Sleeping moves pretend time and yields to the loop."""
        self.t += seconds
        await asyncio.sleep(0)
