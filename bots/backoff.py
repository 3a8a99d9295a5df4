"""Retry delays for long-poll loops: a validated policy plus a small stateful counter.

>>> backoff = Backoff(BackoffConfig(min_delay=0.5, max_delay=30, factor=2, jitter=0))
>>> backoff.next_delay(), backoff.next_delay()
(0.5, 1.0)
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass


@dataclass(frozen=True)
class BackoffConfig:
    """Exponential backoff bounds; checked at construction so a bad config fails early."""

    min_delay: float = 0.5
    max_delay: float = 30.0
    factor: float = 2.0
    #: Fraction of the delay added at random, so many pollers do not retry in lockstep.
    jitter: float = 0.1

    def __post_init__(self) -> None:
        if self.min_delay < 0 or self.max_delay < self.min_delay:
            raise ValueError("need 0 <= min_delay <= max_delay")
        if self.factor < 1:
            raise ValueError("factor must be >= 1")
        if not 0 <= self.jitter <= 1:
            raise ValueError("jitter must be within [0, 1]")

    def delay(self, attempt: int) -> float:
        """The delay before retry number `attempt` (1-based), without jitter, for stateless callers."""
        return float(min(self.max_delay, self.min_delay * self.factor ** max(0, attempt - 1)))

    def jittered(self, attempt: int) -> float:
        """`delay(attempt)` plus up to `jitter` of it at random, so retries do not arrive in lockstep."""
        base = self.delay(attempt)
        return base + base * self.jitter * random.random()


class Backoff:
    """Grows the delay after each failure and resets after a success."""

    def __init__(self, config: BackoffConfig | None = None) -> None:
        self.config = config or BackoffConfig()
        self._delay = self.config.min_delay

    def next_delay(self) -> float:
        """The delay to wait now; the following one grows by `factor`."""
        delay = self._delay
        self._delay = min(self.config.max_delay, self._delay * self.config.factor)
        return delay + delay * self.config.jitter * random.random()

    async def sleep(self) -> None:
        """Wait the next delay."""
        await asyncio.sleep(self.next_delay())

    def reset(self) -> None:
        """Start again from `min_delay` after a success."""
        self._delay = self.config.min_delay
