"""Per-client API rate limits: a token bucket per client, kept in this process's memory (sans-IO).

The decision takes the time as an argument and returns a verdict, so it is tested without an
event loop and driven by the hub clock (`FakeClock` in tests). Buckets live in one process: with
N API processes the effective limit is N times the configured one.

    >>> bucket = TokenBucket(Limit(per_second=1, burst=2), now=0.0)
    >>> [bucket.take(0.0).allowed, bucket.take(0.0).allowed, bucket.take(0.0).retry_after]
    [True, True, 1.0]

(`bots/ratelimit.py` paces outgoing channel calls by waiting in a sliding window; an API limiter
must refuse at once and say when to come back, so it does not fit here.)
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Limit:
    """`per_second` requests on average, up to `burst` at once."""

    per_second: float
    burst: int

    def __post_init__(self) -> None:
        if self.per_second <= 0 or self.burst < 1:
            raise ValueError(f"a rate limit needs per_second > 0 and burst >= 1, not {self}")


@dataclass(frozen=True)
class Verdict:
    """Whether a request may go ahead, and if not, after how many seconds it would."""

    allowed: bool
    retry_after: float = 0.0

    @property
    def retry_after_header(self) -> str:
        """`Retry-After` in whole seconds (rounded up, at least 1)."""
        return str(max(1, math.ceil(self.retry_after)))


class TokenBucket:
    """`burst` tokens refilled continuously at `per_second`; each request takes one."""

    def __init__(self, limit: Limit, now: float) -> None:
        self.limit = limit
        self.tokens = float(limit.burst)
        self.stamp = now

    def take(self, now: float, cost: float = 1.0) -> Verdict:
        """Take `cost` tokens if there are enough by `now`; otherwise say when there will be."""
        self._refill(now)
        if self.tokens >= cost:
            self.tokens -= cost
            return Verdict(True)
        return Verdict(False, (cost - self.tokens) / self.limit.per_second)

    def peek(self, now: float, cost: float = 1.0) -> Verdict:
        """What `take` would answer at `now`, without taking anything."""
        self._refill(now)
        if self.tokens >= cost:
            return Verdict(True)
        return Verdict(False, (cost - self.tokens) / self.limit.per_second)

    def full(self, now: float) -> bool:
        """True once every token is back: the bucket remembers nothing worth keeping."""
        self._refill(now)
        return self.tokens >= self.limit.burst

    def retune(self, limit: Limit, now: float) -> None:
        """Apply a changed limit, keeping the tokens already earned (up to the new burst)."""
        self._refill(now)
        self.limit = limit
        self.tokens = min(self.tokens, float(limit.burst))

    def _refill(self, now: float) -> None:
        elapsed = max(0.0, now - self.stamp)  # a clock stepping back never takes tokens away
        self.tokens = min(float(self.limit.burst), self.tokens + elapsed * self.limit.per_second)
        self.stamp = max(self.stamp, now)


class ClientLimiter:
    """One bucket per client id, created on first use; a changed limit retunes the bucket."""

    def __init__(self) -> None:
        self._buckets: dict[str, TokenBucket] = {}

    def take(self, client_id: str, limit: Limit, now: float) -> Verdict:
        """Count one request of `client_id` against `limit` at `now`."""
        bucket = self._buckets.get(client_id)
        if bucket is None:
            bucket = self._buckets[client_id] = TokenBucket(limit, now)
        elif bucket.limit != limit:
            bucket.retune(limit, now)
        return bucket.take(now)


def client_limit(per_second: float | None, burst: int | None, default: Limit) -> Limit:
    """A client's own limit where it has one, the configured default otherwise."""
    return Limit(per_second or default.per_second, burst or default.burst)
