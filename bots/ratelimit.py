"""Request-rate limits shared by every adapter instance using the same platform token.

VK allows a community token 20 requests per second; several connections of one process may
share a token, so the limiter is looked up in a `RateLimiterRegistry` created once by the
composition root and passed to each adapter (no module-level singleton).

    >>> registry = RateLimiterRegistry()
    >>> registry.get("token-a", 20) is registry.get("token-a", 20)
    True
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections import deque
from collections.abc import Callable


class RateLimiter:
    """At most `rate` acquisitions within any sliding `period` (plus a small safety margin)."""

    def __init__(
        self,
        rate: int,
        period: float = 1.0,
        *,
        margin: float = 0.05,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if rate < 1 or period <= 0:
            raise ValueError("rate must be >= 1 and period > 0")
        self.rate = rate
        self.period = period + margin
        self._clock = clock
        self._stamps: deque[float] = deque()
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        """Wait until one more request fits into the window, then record it."""
        async with self._lock:
            while (wait := self._wait_time()) > 0:
                await asyncio.sleep(wait)
            self._stamps.append(self._clock())

    def _wait_time(self) -> float:
        now = self._clock()
        while self._stamps and now - self._stamps[0] >= self.period:
            self._stamps.popleft()
        if len(self._stamps) < self.rate:
            return 0.0
        return self.period - (now - self._stamps[0])


class RateLimiterRegistry:
    """One limiter per token (keyed by a hash, so tokens are not kept as dict keys)."""

    def __init__(self) -> None:
        self._limiters: dict[str, RateLimiter] = {}

    def get(self, token: str, rate: int) -> RateLimiter:
        """The shared limiter for `token`, created on first use with `rate` per second."""
        key = hashlib.sha256(token.encode()).hexdigest()
        limiter = self._limiters.get(key)
        if limiter is None:
            limiter = self._limiters[key] = RateLimiter(rate)
        return limiter
